/**
 * The deployment's secrets in local mode: generated once and kept under the data directory
 * (files readable by their owner only), or random for the life of the process when nothing is
 * persisted. Never from the repository. Deleting the files revokes every signed URL and makes
 * encrypted message bodies unreadable.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeploymentSecrets } from '../core/secrets.js';

/** Bytes of randomness in each generated secret. */
const SECRET_BYTES = 32;
const newSecret = (): string => randomBytes(SECRET_BYTES).toString('hex');

/** Random secrets for this process only (in-memory mode, tests). */
export function memorySecrets(): DeploymentSecrets {
  const signing = newSecret();
  const message = newSecret();
  return { signingSecret: () => Promise.resolve(signing), messageSecret: () => Promise.resolve(message) };
}

/** Reads `file`, creating it with a fresh secret the first time (exclusively: two processes agree on one). */
function persisted(file: string): string {
  try {
    writeFileSync(file, `${newSecret()}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const value = readFileSync(file, 'utf8').trim();
  if (value === '') throw new Error(`${file} is empty: delete it to generate a new secret`);
  return value;
}

/** Secrets kept in `<dataDir>/secrets/`; generated when missing. */
export function fileSecrets(dataDir: string): DeploymentSecrets {
  const dir = join(dataDir, 'secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const signing = persisted(join(dir, 'signing-secret'));
  const message = persisted(join(dir, 'message-key'));
  return { signingSecret: () => Promise.resolve(signing), messageSecret: () => Promise.resolve(message) };
}
