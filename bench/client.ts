/**
 * The few Zaqar v2 calls the load generator makes, over plain HTTP with the headers any
 * client sends (Client-ID, X-Project-ID, plus any auth header given), so it runs against any
 * Zaqar v2 endpoint: the local stack, a deployment of this project, or OpenStack Zaqar itself.
 */
import { randomUUID } from 'node:crypto';

/** Message TTL for bench messages (s): long enough to outlive any run. */
export const BENCH_MESSAGE_TTL = 3_600;
/** Claim TTL and grace (s): Zaqar's minimum; consumers delete well within it. */
export const BENCH_CLAIM_TTL = 60;
export const BENCH_CLAIM_GRACE = 60;
/** Messages per claim in the work queue (the brief's "claim limit 10"). */
export const CLAIM_LIMIT = 10;
/** Messages per list page for subscribers. */
export const LIST_LIMIT = 10;

export interface ClientOptions {
  readonly url: string;
  readonly project: string;
  /** Extra headers on every request (e.g. X-Auth-Token for Keystone, Authorization for a JWT authorizer). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /**
   * Times an idempotent request (GET, PUT, DELETE) is repeated after a 503 or a lost connection.
   * For the measuring and loading phases only, which a loaded machine's rare 503 must not abort;
   * load runs leave it at 0 and count every failure.
   */
  readonly retries?: number;
}

/** Wait before repeating a request (ms). */
const RETRY_WAIT_MS = 250;
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'PUT', 'DELETE']);

/** Whether a failed request may be repeated: a 503, or no answer at all. */
export const isTransient = (err: unknown): boolean => (err instanceof HttpError ? err.status === 503 : err instanceof TypeError);

/** A message as a claim returns it: its href already carries `?claim_id=`. */
export interface ClaimedMessage {
  readonly id: string;
  readonly href: string;
}

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly op: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${op}: HTTP ${status} ${body.slice(0, 200)}`);
  }
}

/** A message body of about `bytes` bytes once JSON-encoded. */
export function messageBody(bytes: number, n = 0): { n: number; pad: string } {
  const overhead = JSON.stringify({ n, pad: '' }).length;
  return { n, pad: 'x'.repeat(Math.max(0, bytes - overhead)) };
}

/** The `marker` query parameter of a page's `next` link, if any. */
export function nextMarker(links: unknown): string | undefined {
  if (!Array.isArray(links)) return undefined;
  const next = links.find((l: { rel?: unknown }) => l?.rel === 'next') as { href?: unknown } | undefined;
  if (typeof next?.href !== 'string') return undefined;
  return new URL(next.href, 'http://x').searchParams.get('marker') ?? undefined;
}

export class ZaqarClient {
  readonly clientId = randomUUID();

  constructor(private readonly options: ClientOptions) {}

  private async call(op: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const retries = IDEMPOTENT_METHODS.has(method) ? (this.options.retries ?? 0) : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(op, method, path, body);
      } catch (err) {
        if (attempt >= retries || !isTransient(err)) throw err;
        await new Promise((r) => setTimeout(r, RETRY_WAIT_MS));
      }
    }
  }

  private async once(op: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const headers: Record<string, string> = {
      'Client-ID': this.clientId,
      'X-Project-ID': this.options.project,
      Accept: 'application/json',
      ...this.options.headers,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(this.options.url + path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.status >= 300) throw new HttpError(op, res.status, text);
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
  }

  private q(queue: string): string {
    return `/v2/queues/${encodeURIComponent(queue)}`;
  }

  async createQueue(queue: string): Promise<void> {
    await this.call('create', 'PUT', this.q(queue), {});
  }

  async deleteQueue(queue: string): Promise<void> {
    await this.call('delete-queue', 'DELETE', this.q(queue));
  }

  /** Posts `bodies`; returns the new messages' ids. */
  async post(queue: string, bodies: readonly unknown[]): Promise<string[]> {
    const { json } = await this.call('post', 'POST', `${this.q(queue)}/messages`, {
      messages: bodies.map((body) => ({ ttl: BENCH_MESSAGE_TTL, body })),
    });
    const resources = (json as { resources?: unknown }).resources;
    return Array.isArray(resources) ? resources.map((r) => String(r).split('/').pop() ?? '') : [];
  }

  /** One page after `marker`; returns the messages' ids and the marker of the next page. */
  async list(queue: string, marker: string | undefined, limit = LIST_LIMIT): Promise<{ ids: string[]; next: string | undefined }> {
    const qs = new URLSearchParams({ limit: String(limit), ...(marker !== undefined ? { marker } : {}) });
    const { json } = await this.call('list', 'GET', `${this.q(queue)}/messages?${qs}`);
    const page = (json ?? {}) as { messages?: { id: string }[]; links?: unknown };
    const ids = (page.messages ?? []).map((m) => m.id);
    return { ids, next: nextMarker(page.links) ?? marker };
  }

  /** Claims up to `limit` messages; an empty array when nothing is claimable (204). */
  async claim(queue: string, limit = CLAIM_LIMIT, ttl = BENCH_CLAIM_TTL): Promise<{ claimId: string | undefined; messages: ClaimedMessage[] }> {
    const { status, json } = await this.call('claim', 'POST', `${this.q(queue)}/claims?limit=${limit}`, {
      ttl,
      grace: BENCH_CLAIM_GRACE,
    });
    if (status === 204) return { claimId: undefined, messages: [] };
    const messages = ((json as { messages?: ClaimedMessage[] }).messages ?? []).map((m) => ({ id: m.id, href: m.href }));
    const href = messages[0]?.href ?? '';
    const claimId = new URL(href, 'http://x').searchParams.get('claim_id') ?? undefined;
    return { claimId, messages };
  }

  /** Deletes a claimed message (the claim id comes from the message's href, as Zaqar clients do). */
  async deleteClaimed(queue: string, message: ClaimedMessage): Promise<void> {
    const claimId = new URL(message.href, 'http://x').searchParams.get('claim_id') ?? '';
    await this.call('delete', 'DELETE', `${this.q(queue)}/messages/${message.id}?claim_id=${encodeURIComponent(claimId)}`);
  }

  /** The queue's message counts (GET …/stats). */
  async stats(queue: string): Promise<{ free: number; claimed: number; total: number }> {
    const { json } = await this.call('stats', 'GET', `${this.q(queue)}/stats`);
    const m = ((json ?? {}) as { messages?: { free?: number; claimed?: number; total?: number } }).messages ?? {};
    return { free: m.free ?? Number.NaN, claimed: m.claimed ?? Number.NaN, total: m.total ?? Number.NaN };
  }

  async release(queue: string, claimId: string): Promise<void> {
    await this.call('release', 'DELETE', `${this.q(queue)}/claims/${claimId}`);
  }
}
