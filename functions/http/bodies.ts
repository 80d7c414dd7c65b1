/**
 * Encrypted queues at the HTTP layer (above the store, whatever the store does): bodies posted
 * to a queue with `_enable_encrypt_messages: true` are sealed before the store sees them, and
 * every route that returns bodies opens them (functions/core/body-cipher.ts). The message secret
 * is fetched only when a body needs it.
 */
import { deriveBodyKey, looksSealed, openBody, sealBody } from '../core/body-cipher.js';
import type { NewMessage, QueueMetadata, StoredMessage } from '../core/model.js';
import type { HandlerContext } from './context.js';

/** Whether posts to a queue with this metadata are encrypted. */
export const encryptsMessages = (meta: QueueMetadata | undefined): boolean => meta?._enable_encrypt_messages === true;

let cached: { secret: string; key: Buffer } | undefined;
async function bodyKey(ctx: HandlerContext): Promise<Buffer> {
  const secret = await ctx.deps.secrets.messageSecret();
  if (cached?.secret !== secret) cached = { secret, key: deriveBodyKey(secret) };
  return cached.key;
}

export async function sealMessages(ctx: HandlerContext, messages: NewMessage[]): Promise<NewMessage[]> {
  const key = await bodyKey(ctx);
  return messages.map((m) => ({ ...m, body: sealBody(key, ctx.project, m.body) }));
}

/** The messages with their bodies opened (the same array when none is sealed: no secret read). */
export async function openMessages<M extends StoredMessage>(ctx: HandlerContext, messages: readonly M[]): Promise<M[]> {
  if (!messages.some((m) => looksSealed(m.body))) return [...messages];
  const key = await bodyKey(ctx);
  return messages.map((m) => (looksSealed(m.body) ? { ...m, body: openBody(key, ctx.project, m.body) } : m));
}
