/**
 * The deployment's secrets, as a port: the key that signs pre-signed URLs and the key that
 * encrypts message bodies of queues with `_enable_encrypt_messages`. They come from the
 * deployment, never from the repository: Secrets Manager in AWS (functions/entry/secrets.ts),
 * files under the data directory locally, random per process in memory (functions/local/secrets.ts).
 * Each is fetched only when a request needs it; implementations cache.
 */
export interface DeploymentSecrets {
  /** HMAC key of signed URLs (Zaqar's `[signed_url] secret_key`). Throws when unavailable. */
  signingSecret(): Promise<string>;
  /** Secret the message-body encryption key is derived from. Throws when unavailable. */
  messageSecret(): Promise<string>;
}

/** For code that must never need a secret (the `$default` function): every call rejects. */
export const NO_SECRETS: DeploymentSecrets = {
  signingSecret: () => Promise.reject(new Error('this function has no signing secret')),
  messageSecret: () => Promise.reject(new Error('this function has no message key')),
};
