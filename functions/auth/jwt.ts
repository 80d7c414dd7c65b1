/**
 * JWT verification for the Lambda authorizer, with `jose`: what API Gateway's built-in JWT
 * authorizer checked (it is replaced, so this must check as much), against the issuer's keys
 * found by OpenID discovery. A token is valid when its signature verifies with a key of the
 * issuer's JWKS (RSA algorithms, as API Gateway), `iss` equals the issuer, it has not expired
 * (`exp` required, `nbf` honoured), and `aud` — or, when a token has no `aud`, `client_id`
 * (Cognito access tokens) — is one of the configured audiences. The project is the configured
 * claim.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';

export interface JwtSettings {
  /** Issuer URL, exactly as in the tokens' `iss`. */
  readonly issuer: string;
  /** Accepted `aud` (or `client_id`) values. */
  readonly audience: readonly string[];
  /** The claim whose value is the project. */
  readonly projectClaim: string;
}

export type TokenCheck = { readonly project: string } | { readonly invalid: string };
export type JwtVerifier = (token: string) => Promise<TokenCheck>;

/** The issuer's keys could not be fetched: the request cannot be judged (503, not 401). */
export class KeysUnavailableError extends Error {
  override readonly name = 'KeysUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Signature algorithms accepted (API Gateway's JWT authorizer accepts RSA keys only). */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512'];
/** Discovery and JWKS requests give up after this long. */
const FETCH_TIMEOUT_MS = 3_000;

/** Failures that say the token is bad; anything else (network, a broken JWKS) says nothing about it. */
const TOKEN_ERRORS = [
  errors.JWTClaimValidationFailed,
  errors.JWTExpired,
  errors.JWTInvalid,
  errors.JWSInvalid,
  errors.JWSSignatureVerificationFailed,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
];

/** `jwks_uri` from the issuer's OpenID configuration (`<issuer>/.well-known/openid-configuration`). */
async function discoverJwks(issuer: string): Promise<URL> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  const doc = (await res.json()) as { jwks_uri?: unknown };
  if (typeof doc.jwks_uri !== 'string') throw new Error(`${url} has no jwks_uri`);
  return new URL(doc.jwks_uri);
}

/**
 * A verifier for `settings`. Discovery runs on first use and is retried after a failure; the
 * JWKS is cached and refetched by `jose` when a token names an unknown key. `getKey` replaces
 * discovery (tests).
 */
export function createJwtVerifier(settings: JwtSettings, options: { getKey?: JWTVerifyGetKey } = {}): JwtVerifier {
  let keys: Promise<JWTVerifyGetKey> | undefined = options.getKey ? Promise.resolve(options.getKey) : undefined;
  const keySet = (): Promise<JWTVerifyGetKey> =>
    (keys ??= discoverJwks(settings.issuer).then(
      (uri) => createRemoteJWKSet(uri, { timeoutDuration: FETCH_TIMEOUT_MS }),
      (err: unknown) => {
        keys = undefined;
        throw new KeysUnavailableError(`OpenID discovery failed for ${settings.issuer}`, { cause: err });
      },
    ));

  return async (token) => {
    const getKey = await keySet();
    let payload;
    try {
      ({ payload } = await jwtVerify(token, getKey, { issuer: settings.issuer, algorithms: JWT_ALGORITHMS, requiredClaims: ['exp'] }));
    } catch (err) {
      if (TOKEN_ERRORS.some((type) => err instanceof type)) return { invalid: (err as errors.JOSEError).code };
      throw new KeysUnavailableError(`the keys of ${settings.issuer} could not be read`, { cause: err });
    }
    const audiences = payload.aud === undefined ? [] : [payload.aud].flat();
    const clientId = payload.client_id;
    const audienceOk =
      audiences.length > 0 ? audiences.some((a) => settings.audience.includes(a)) : typeof clientId === 'string' && settings.audience.includes(clientId);
    if (!audienceOk) return { invalid: 'audience' };
    const project = payload[settings.projectClaim];
    if (typeof project !== 'string' || project === '') return { invalid: `no ${settings.projectClaim} claim` };
    return { project };
  };
}
