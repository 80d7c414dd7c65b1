/** Response shapes (Zaqar's format_message_v1_1 and friends) and the hrefs inside them. */
import type { StoredMessage } from '../../core/model.js';

export const queueHref = (queue: string): string => `/v2/queues/${queue}`;
export const messagesHref = (queue: string): string => `${queueHref(queue)}/messages`;
export const claimHref = (queue: string, claimId: string): string => `${queueHref(queue)}/claims/${claimId}`;

export function messageHref(queue: string, m: StoredMessage): string {
  const base = `${messagesHref(queue)}/${m.id}`;
  return m.claimId ? `${base}?claim_id=${m.claimId}` : base;
}

/** Whole seconds since `createdAt`, never negative. */
export const age = (createdAt: number, now: number): number => Math.max(0, Math.floor((now - createdAt) / 1000));

/**
 * A message as Zaqar v2 shows it (`wsgi/utils.py` format_message): exactly `id, href, ttl, age,
 * body`. NOTE: Zaqar's response schemas (`api/v2/response.py`) forbid any other key, so a claim
 * id appears only in the href (`?claim_id=`) and the claim count not at all. Zaqar adds
 * `checksum` only when its `enable_checksum` option is on; this service computes none.
 */
export function formatMessage(queue: string, m: StoredMessage, now: number) {
  return { id: m.id, href: messageHref(queue, m), ttl: m.ttl, age: age(m.createdAt, now), body: m.body };
}

/** Pop answers with storage-shaped messages (no href), as Zaqar does. */
export function formatPopped(m: StoredMessage, now: number) {
  return { id: m.id, age: age(m.createdAt, now), ttl: m.ttl, body: m.body, claim_id: null };
}

export const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');


/** Zaqar's `to_query_str`: keeps the caller's parameters, booleans as true/false. */
export function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}
