/**
 * Who is calling: the one decision the Lambda authorizer makes in AWS (functions/entry/
 * authorizer.ts) and the local server makes in-process. A request is authenticated by a valid
 * signed URL (Zaqar's `URL-Signature` headers, checked first, as Zaqar's hooks do) or by a valid
 * JWT, sent as `Authorization: Bearer …` or as `X-Auth-Token` (what python-zaqarclient's
 * keystone backend sends with a pre-issued token). The verdict names the project, or why not.
 *
 * NOTE: the verdict travels to the route's function in the authorizer context, and the function
 * enforces it before it reads anything else (functions/http/app.ts). The authorizer does not
 * answer refusals itself because API Gateway can only turn them into a bare 403
 * `{"message":"Forbidden"}`, while Zaqar answers a missing or bad token with 401 and any bad
 * signature with 404, each with its `{title, description}` body.
 */
import type { DeploymentSecrets } from '../core/secrets.js';
import type { JwtVerifier } from './jwt.js';
import { isSignedRequest, verifySignedRequest, type SignedRequest } from './signed-url.js';

export type Verdict =
  | { readonly project: string; readonly via: 'jwt' | 'signed-url' }
  | {
      /** unauthorized → 401, not-found → 404 (a signed URL that does not hold), unavailable → 503. */
      readonly denied: 'unauthorized' | 'not-found' | 'unavailable';
      /** For logs; never shown to the client. */
      readonly reason: string;
    };

export interface AuthenticateDeps {
  readonly secrets: Pick<DeploymentSecrets, 'signingSecret'>;
  /** Absent: bearer tokens are not accepted (trusted-header mode accepts only signed URLs). */
  readonly verifyJwt?: JwtVerifier;
  /** Epoch ms. */
  now(): number;
}

/** The token of `Authorization: Bearer <token>` (the scheme is optional, as for API Gateway's JWT authorizer), else of `X-Auth-Token`. */
export function bearerToken(req: Pick<SignedRequest, 'header'>): string | undefined {
  const authorization = req.header('authorization')?.trim();
  if (authorization) return authorization.replace(/^bearer\s+/i, '');
  const token = req.header('x-auth-token')?.trim();
  return token ? token : undefined;
}

/** Signed URL (if the request carries `URL-Signature`), else JWT; never throws. */
export async function authenticate(req: SignedRequest, deps: AuthenticateDeps): Promise<Verdict> {
  try {
    if (isSignedRequest(req)) return await verifySignature(req, deps);
    const token = bearerToken(req);
    if (token === undefined) return { denied: 'unauthorized', reason: 'no credentials' };
    if (!deps.verifyJwt) return { denied: 'unauthorized', reason: 'bearer tokens are not accepted here' };
    const check = await deps.verifyJwt(token);
    return 'project' in check ? { project: check.project, via: 'jwt' } : { denied: 'unauthorized', reason: `token: ${check.invalid}` };
  } catch (err) {
    return { denied: 'unavailable', reason: err instanceof Error ? err.message : String(err) };
  }
}

/** Only the signed-URL half (trusted-header mode: the project header is trusted, a signature still restricts). */
export async function verifySignature(req: SignedRequest, deps: Pick<AuthenticateDeps, 'secrets' | 'now'>): Promise<Verdict> {
  const result = verifySignedRequest(await deps.secrets.signingSecret(), req, deps.now());
  return 'project' in result ? { project: result.project, via: 'signed-url' } : { denied: 'not-found', reason: `signed URL: ${result.failure}` };
}

/** The authorizer context API Gateway hands to the functions (`requestContext.authorizer.lambda`): strings only. */
export type VerdictContext = Record<string, string>;

export const verdictContext = (v: Verdict): VerdictContext =>
  'project' in v ? { project: v.project, via: v.via } : { denied: v.denied, reason: v.reason };

/** Reads a verdict back from the authorizer context; anything unexpected is "unauthorized". */
export function verdictFromContext(context: Record<string, unknown> | undefined): Verdict {
  const project = context?.project;
  const via = context?.via;
  if (typeof project === 'string' && project !== '' && (via === 'jwt' || via === 'signed-url')) return { project, via };
  const denied = context?.denied;
  if (denied === 'not-found' || denied === 'unavailable') return { denied, reason: String(context?.reason ?? '') };
  return { denied: 'unauthorized', reason: context ? String(context.reason ?? 'no verdict') : 'no authorizer context' };
}
