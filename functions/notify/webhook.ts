/**
 * One webhook delivery: the request Zaqar's webhook task sends (`zaqar/notification/tasks/webhook.py`)
 * — a JSON POST of one notification, or `options.post_data` with `"$zaqar_message$"` replaced by
 * it, with `options.post_headers` — signed so the receiver can tell it came from this service,
 * sent over a connection that only reaches allowed addresses (ssrf.ts), with a timeout, never
 * following redirects.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import type { QueueRef } from '../core/model.js';
import { addressAllowed, guardedLookup, hostOf, type AddressPolicy } from './ssrf.js';

/** `Message_Type` values (Zaqar's notifier.MessageType names). */
export type MessageType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

/** Zaqar's template placeholder in `options.post_data`. */
export const MESSAGE_PLACEHOLDER = '"$zaqar_message$"';

export const HEADERS = {
  /** `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">` under the subscription's signing secret. */
  signature: 'x-cloud-queues-signature',
  /** Unix seconds when the request was signed (receivers refuse old ones: replays). */
  timestamp: 'x-cloud-queues-timestamp',
  subscription: 'x-cloud-queues-subscription-id',
  /** The message delivered: the same id on every attempt (deliveries are at least once). */
  message: 'x-cloud-queues-message-id',
  attempt: 'x-cloud-queues-attempt',
} as const;

/** Headers a subscription's `post_headers` may not set: the transport's own and the signature's. */
export const RESERVED_HEADERS: readonly string[] = ['host', 'content-length', 'transfer-encoding', 'connection', ...Object.values(HEADERS)];

/**
 * The document one notification is: Zaqar sends the posted message (`ttl`, `body`) with
 * `Message_Type` and `queue_name` added; a confirmation carries its own fields.
 */
export function notificationDocument(queue: string, type: MessageType, fields: Record<string, unknown>): Record<string, unknown> {
  return { ...fields, Message_Type: type, queue_name: queue };
}

/** The request body: the document as JSON, or spliced into `post_data` (every placeholder, as Python's str.replace). */
export function requestBody(document: Record<string, unknown>, postData: string | undefined): string {
  const json = JSON.stringify(document);
  return postData === undefined ? json : postData.split(MESSAGE_PLACEHOLDER).join(json);
}

/**
 * The secret a subscription's deliveries are signed with: derived from the deployment's signing
 * secret and the subscription's identity, so nothing secret is stored and no tenant can compute
 * another's (the API shows each subscription's own secret to its project only).
 */
export function webhookSecret(signingSecret: string, ref: QueueRef, subscriptionId: string): string {
  return createHmac('sha256', signingSecret).update(`cloud-queues webhook v1\n${ref.project}\n${ref.queue}\n${subscriptionId}`, 'utf8').digest('hex');
}

/** The signature header's value for `body` sent at `timestamp` (Unix seconds). */
export function signature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/**
 * What a receiver does (docs/subscriptions.md): recompute the signature over the timestamp header
 * and the raw body, compare in constant time, refuse timestamps more than `toleranceSeconds` away.
 */
export function verifySignature(secret: string, headers: { signature?: string; timestamp?: string }, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signature(secret, timestamp, body));
  const given = Buffer.from(headers.signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface WebhookRequest {
  readonly url: string;
  readonly body: string;
  /** Header name → value (post_headers and the signature); Content-Type defaults to JSON. */
  readonly headers: Readonly<Record<string, string>>;
}

export type AttemptOutcome =
  | { readonly ok: true; readonly status: number }
  /** `retryable`: the receiver may be back later (connection failure, timeout, 408, 429, 5xx). */
  | { readonly ok: false; readonly retryable: boolean; readonly reason: string; readonly status?: number };

export interface PostOptions {
  readonly timeoutMs: number;
  readonly addresses: AddressPolicy;
}

/** Bytes of a receiver's answer read before the connection is dropped: only the status matters. */
const MAX_ANSWER_BYTES = 64 * 1024;
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64 });

const retryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;

/**
 * POSTs once. 2xx is delivered; 408, 429, 5xx, connection failures and timeouts may be retried;
 * anything else (redirects included: they are not followed, as a redirect could lead inside) is a
 * refusal by the receiver. Never throws.
 */
export function postWebhook(req: WebhookRequest, options: PostOptions): Promise<AttemptOutcome> {
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    return Promise.resolve({ ok: false, retryable: false, reason: 'invalid URL' });
  }
  const host = hostOf(url);
  // NOTE: Node does not call `lookup` for IP literals: those are checked here.
  if (isIP(host) && !addressAllowed(host, options.addresses)) {
    return Promise.resolve({ ok: false, retryable: false, reason: `address ${host} refused` });
  }
  const https = url.protocol === 'https:';
  const send = https ? httpsRequest : httpRequest;
  return new Promise<AttemptOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const headers: Record<string, string> = { 'content-type': 'application/json', ...lower(req.headers), 'content-length': String(Buffer.byteLength(req.body)) };
    const request = send(url, {
      method: 'POST',
      headers,
      agent: https ? httpsAgent : httpAgent,
      lookup: guardedLookup(options.addresses) as never,
    });
    const timer = setTimeout(() => {
      request.destroy();
      finish({ ok: false, retryable: true, reason: `no answer within ${options.timeoutMs} ms` });
    }, options.timeoutMs);
    request.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_ANSWER_BYTES) res.destroy();
      });
      res.on('error', () => undefined);
      res.on('close', () => undefined);
      if (status >= 200 && status < 300) finish({ ok: true, status });
      else finish({ ok: false, retryable: retryableStatus(status), reason: `answered ${status}`, status });
      res.resume();
    });
    request.on('error', (err: NodeJS.ErrnoException) => {
      const refused = err.code === 'EADDRREFUSED';
      finish({ ok: false, retryable: !refused, reason: refused ? err.message : `connection failed (${err.code ?? err.message})` });
    });
    request.end(req.body);
  });
}

function lower(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}
