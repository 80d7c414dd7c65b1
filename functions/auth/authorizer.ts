/**
 * The Lambda REQUEST authorizer of the HTTP API (simple responses, payload 2.0), as a function of
 * its settings: functions/entry/authorizer.ts builds it from the environment, the local server
 * runs the same code in-process when asked to behave like a deployment (functions/local/authorizer.ts).
 *
 * It always answers `isAuthorized: true` with the verdict in the context; the route's function
 * enforces a refusal before it reads anything else (see ./authenticate.ts for why). Caching is
 * off in the stack: the verdict depends on the path and method (signed URLs), not only on headers.
 */
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import type { Clock } from '../core/clock.js';
import type { DeploymentSecrets } from '../core/secrets.js';
import { authenticate, verdictContext, type VerdictContext } from './authenticate.js';
import { createJwtVerifier, type JwtSettings } from './jwt.js';
import type { SignedRequest } from './signed-url.js';
import type { JWTVerifyGetKey } from 'jose';

export type AuthorizerEvent = APIGatewayRequestAuthorizerEventV2;
export type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<VerdictContext>;
export type AuthorizerHandler = (event: AuthorizerEvent) => Promise<AuthorizerResult>;

export interface AuthorizerOptions {
  readonly jwt: JwtSettings;
  readonly secrets: Pick<DeploymentSecrets, 'signingSecret'>;
  readonly clock: Clock;
  /** One line per refusal (the reason never reaches the client). */
  readonly log?: (message: string, details: Record<string, unknown>) => void;
  /** Replaces OpenID discovery of the issuer's keys (tests). */
  readonly getKey?: JWTVerifyGetKey;
}

/** The request as authenticate() reads it: API Gateway lower-cases header names. */
export function authorizerRequest(event: AuthorizerEvent): SignedRequest {
  const headers = event.headers ?? {};
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    header: (name) => headers[name.toLowerCase()],
  };
}

export function createAuthorizer(options: AuthorizerOptions): AuthorizerHandler {
  const verifyJwt = createJwtVerifier(options.jwt, options.getKey ? { getKey: options.getKey } : {});
  return async (event) => {
    const verdict = await authenticate(authorizerRequest(event), { secrets: options.secrets, verifyJwt, now: () => options.clock.now() });
    if ('denied' in verdict) options.log?.('request not authenticated', { denied: verdict.denied, reason: verdict.reason, routeKey: event.routeKey });
    return { isAuthorized: true, context: verdictContext(verdict) };
  };
}
