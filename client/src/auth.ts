/**
 * How the client proves who it is. Each strategy turns into request headers; the client adds
 * Client-ID itself. Three are provided: a bearer JWT (deployed behind the JWT authorizer),
 * Zaqar's signed URLs (a share of one queue), and a bare X-Project-ID (local mode, or a
 * deployment that trusts the header).
 */
import type { SignedUrlShare } from './types.js';

export interface AuthContext {
  /**
   * True when the previous attempt was refused with 401: a token source should return a fresh
   * token rather than a cached one.
   */
  readonly refresh: boolean;
}

export interface Auth {
  /** Headers to send with a request (called before every attempt). */
  headers(context: AuthContext): Record<string, string> | Promise<Record<string, string>>;
  /** Whether a 401 is worth one more attempt with `refresh: true` (a token may have just expired). */
  readonly refreshOn401: boolean;
}

/** A token source: returns a current JWT; cache it yourself and refresh when `refresh` is true. */
export type TokenSource = (context: AuthContext) => string | Promise<string>;

/** `Authorization: Bearer <jwt>`; the tenant comes from a claim in the token. */
export function bearer(token: TokenSource): Auth {
  return {
    refreshOn401: true,
    async headers(context) {
      return { Authorization: `Bearer ${await token(context)}` };
    },
  };
}

/** `X-Project-ID: <project>`: local mode (`npm start`), or a deployment with `trustProjectHeader=true`. */
export function projectId(project: string): Auth {
  return { refreshOn401: false, headers: () => ({ 'X-Project-ID': project }) };
}

/**
 * Zaqar's signed-URL headers (URL-Signature, URL-Expires, URL-Methods, URL-Paths) plus the share's
 * project as X-Project-ID, sent as python-zaqarclient's `signed-url` backend sends them. Only the
 * shared paths (and their items, e.g. `…/messages/{id}`) and methods are allowed; anything else —
 * and anything after `expires` — is Zaqar's 404 (NotFoundError), exactly as for a missing resource.
 */
export function signedUrl(share: SignedUrlShare): Auth {
  const headers = {
    'URL-Signature': share.signature,
    'URL-Expires': share.expires,
    'URL-Methods': share.methods.join(','),
    'URL-Paths': share.paths.join(','),
    'X-Project-ID': share.project,
  };
  return { refreshOn401: false, headers: () => headers };
}
