/**
 * The deployment's secrets in AWS: Secrets Manager secrets the stack generates (lib/secrets.ts),
 * read with Powertools' SecretsProvider and cached in the container for SECRET_MAX_AGE_SECONDS,
 * so a warm function reads each at most once every few minutes and picks up a rotation soon after.
 *
 * Environment (set by lib/cloud-queues-stack.ts, only for functions granted the secret):
 * - SIGNING_SECRET_ARN: signs and verifies pre-signed URLs.
 * - MESSAGE_KEY_SECRET_ARN: the message-body encryption key is derived from it.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { DeploymentSecrets } from '../core/secrets.js';
import { SECRET_ENV } from './env.js';

/** How long a container keeps a secret before reading it again. */
export const SECRET_MAX_AGE_SECONDS = 300;

/**
 * Secrets from the ARNs in `env`; nothing is read until a secret is first needed. A function
 * deployed without an ARN throws when asked for that secret (the request answers 503).
 */
export function secretsManagerSecrets(env: NodeJS.ProcessEnv = process.env, client?: SecretsManagerClient): DeploymentSecrets {
  let provider: SecretsProvider | undefined;
  const read = (variable: string) => async (): Promise<string> => {
    const arn = env[variable];
    if (!arn) throw new Error(`${variable} is not set: this function was deployed without that secret`);
    provider ??= new SecretsProvider(client ? { awsSdkV3Client: client } : {});
    const value = await provider.get(arn, { maxAge: SECRET_MAX_AGE_SECONDS });
    if (typeof value !== 'string' || value === '') throw new Error(`secret ${arn} has no string value`);
    return value;
  };
  return { signingSecret: read(SECRET_ENV.signing), messageSecret: read(SECRET_ENV.message) };
}
