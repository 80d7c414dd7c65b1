/**
 * Lambda entry point of the HTTP API's REQUEST authorizer (functions/auth/authorizer.ts). Built
 * on the first invocation, never at import.
 *
 * Environment (set by lib/cloud-queues-stack.ts):
 * - JWT_ISSUER: the issuer URL (`iss`); its keys are found by OpenID discovery.
 * - JWT_AUDIENCE: accepted `aud` (or `client_id`) values, comma-separated.
 * - PROJECT_CLAIM: the claim carrying the project (default `project_id`).
 * - SIGNING_SECRET_ARN: the secret signed URLs are verified with.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { createAuthorizer, type AuthorizerEvent, type AuthorizerHandler, type AuthorizerResult } from '../auth/authorizer.js';
import type { JwtSettings } from '../auth/jwt.js';
import { systemClock } from '../core/clock.js';
import { DEFAULT_PROJECT_CLAIM } from './env.js';
import { secretsManagerSecrets } from './secrets.js';

/** JWT settings from the environment; throws when the issuer or the audience is missing. */
export function jwtSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): JwtSettings {
  const issuer = env.JWT_ISSUER;
  const audience = (env.JWT_AUDIENCE ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  if (!issuer || audience.length === 0) throw new Error('JWT_ISSUER and JWT_AUDIENCE must be set for the authorizer');
  return { issuer, audience, projectClaim: env.PROJECT_CLAIM || DEFAULT_PROJECT_CLAIM };
}

let logger: PowertoolsLogger | undefined;
let authorizer: AuthorizerHandler | undefined;

/** Exported as `authorize` (the sweeper's entry is `handler`: one name per function keeps them apart). */
export const authorize = async (event: AuthorizerEvent, context: Context): Promise<AuthorizerResult> => {
  logger ??= new PowertoolsLogger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cloud-queues' });
  logger.addContext(context);
  logger.appendKeys({ apiRequestId: event.requestContext.requestId, routeKey: event.routeKey });
  const log = logger;
  authorizer ??= createAuthorizer({
    jwt: jwtSettingsFromEnv(),
    secrets: secretsManagerSecrets(),
    clock: systemClock,
    log: (message, details) => log.info(message, details),
  });
  return authorizer(event);
};
