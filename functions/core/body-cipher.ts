/**
 * Message bodies of queues with `_enable_encrypt_messages`: sealed with AES-256-GCM under a key
 * derived from the deployment's message secret before they reach the store, opened on the way
 * out. Pure: the key is an argument.
 *
 * A sealed body is stored as `{"$cloud-queues:sealed": "v1.<base64 of iv | ciphertext | tag>"}`.
 * NOTE: whether a stored body is sealed is decided by the body itself, not by the queue's current
 * setting, so turning encryption on or off never garbles messages already stored (and a message
 * moved to another queue of the project stays readable). A producer may post a body of that very
 * shape as plain JSON: it opens only if it authenticates under this deployment's key and project
 * (GCM), which no one without the key can forge, so anything else is returned exactly as posted.
 * Unlike Zaqar (AES-CBC over a pickle, no integrity), a tampered ciphertext is never decrypted.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export const SEALED_KEY = '$cloud-queues:sealed';
const VERSION = 'v1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_INFO = 'cloud-queues message bodies v1';

export type SealedBody = { readonly [SEALED_KEY]: string };

/** The AES-256 key derived (HKDF-SHA256) from the deployment's message secret. */
export const deriveBodyKey = (secret: string): Buffer => Buffer.from(hkdfSync('sha256', secret, '', KEY_INFO, 32));

/** Binds a sealed body to its project: it cannot be opened under another tenant. */
const aad = (project: string): Buffer => Buffer.from(`cloud-queues/v1\n${project}`, 'utf8');

export function sealBody(key: Buffer, project: string, body: unknown): SealedBody {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(project));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(body), 'utf8'), cipher.final()]);
  return { [SEALED_KEY]: VERSION + Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64') };
}

/** Has the shape of a sealed body (it may still be a plain body that only looks like one). */
export function looksSealed(stored: unknown): stored is SealedBody {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return false;
  const keys = Object.keys(stored);
  const value = (stored as Record<string, unknown>)[SEALED_KEY];
  return keys.length === 1 && typeof value === 'string' && value.startsWith(VERSION);
}

/** The body a sealed one was made from; anything that does not authenticate is returned as stored. */
export function openBody(key: Buffer, project: string, stored: unknown): unknown {
  if (!looksSealed(stored)) return stored;
  const raw = Buffer.from(stored[SEALED_KEY].slice(VERSION.length), 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES) return stored;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(aad(project));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as unknown;
  } catch {
    return stored;
  }
}
