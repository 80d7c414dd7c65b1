/**
 * The console's only way to the service: the public Zaqar v2 API, called with the user's own
 * credentials (a bearer token, or X-Project-ID where the server trusts it) and a Client-ID of
 * this page. Nothing here knows more than any other Zaqar client does.
 */
import { LIMITS } from '../../functions/core/limits.js';

export interface Credentials {
  /** Sent as X-Project-ID when not empty (local mode, or a deployment that trusts the header). */
  readonly project: string;
  /** Sent as `Authorization: Bearer …` when not empty (a deployment with a JWT authorizer). */
  readonly token: string;
  readonly clientId: string;
}

/** A failed call: Zaqar's `{title, description}`, or what the gateway or the network said. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly description: string,
  ) {
    super(description ? `${title}: ${description}` : title);
  }
}

export interface MessageEdge {
  readonly age: number;
  readonly created: string;
  readonly href: string;
}

export interface QueueStats {
  /** Claimable now: Zaqar's `free` less the delayed messages (as the metrics count them). */
  readonly free: number;
  /** Not claimable until their delay ends (the stats' `include_delayed` extension). */
  readonly delayed: number;
  readonly claimed: number;
  readonly total: number;
  readonly oldest?: MessageEdge;
  readonly newest?: MessageEdge;
}

export interface Message {
  readonly id: string;
  /** A claimed message's href ends with `?claim_id=<claim>` (Zaqar's message objects carry no claim field). */
  readonly href: string;
  readonly age: number;
  readonly ttl: number;
  readonly body: unknown;
}

/** The claim holding a listed message, from its href; undefined when it is free. */
export const claimIdOf = (m: Pick<Message, 'href'>): string | undefined =>
  new URL(m.href, 'http://x').searchParams.get('claim_id') ?? undefined;

export interface Claim {
  readonly age: number;
  readonly ttl: number;
  readonly grace?: number;
  readonly href: string;
  readonly messages: readonly Message[];
}

/** A queue's metadata document (Zaqar's reserved `_` keys with their defaults, and the user's own). */
export type QueueMetadata = Readonly<Record<string, unknown>>;

/** A dead-letter queue's redrive (an extension of this service: POST/GET/DELETE …/redrive). */
export interface Redrive {
  readonly status: 'running' | 'completed' | 'cancelled';
  /** null: each message goes back to the queue it was dead-lettered from. */
  readonly destination: string | null;
  readonly max_messages_per_second: number;
  readonly moved: number;
  readonly skipped: number;
  readonly started: string;
  readonly updated: string;
  readonly href: string;
}

export interface RedriveOptions {
  readonly destination?: string;
  readonly max_messages_per_second?: number;
}

/** One page of a listing; `next` is the marker of the following page, absent on the last one. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next?: string;
}

export interface MessageQuery {
  readonly marker?: string;
  readonly limit: number;
  readonly includeClaimed: boolean;
  readonly includeDelayed: boolean;
}

export interface NewMessage {
  readonly body: unknown;
  readonly ttl?: number;
  readonly delay?: number;
}

/** The marker of a Zaqar `next` link (`…?marker=…&limit=…`). */
export const markerOf = (href: string): string | undefined => new URL(href, 'http://x').searchParams.get('marker') ?? undefined;

/**
 * The page after a listing. NOTE: Zaqar gives a `next` link with every non-empty page, even the
 * last; a short page is known to be the last one, so no empty page is shown after it.
 */
function pageOf<T>(items: readonly T[], links: readonly { href: string }[] | undefined, limit: number): Page<T> {
  const next = items.length === limit && links?.[0] ? markerOf(links[0].href) : undefined;
  return next === undefined ? { items } : { items, next };
}

const seg = encodeURIComponent;

export class Api {
  constructor(
    /** e.g. `/v2` (same origin as the page). */
    readonly base: string,
    private readonly credentials: Credentials,
    private readonly fetchFn: typeof fetch = (...args) => fetch(...args),
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; headers: Headers }> {
    const headers: Record<string, string> = { 'Client-ID': this.credentials.clientId, Accept: 'application/json' };
    if (this.credentials.project) headers['X-Project-ID'] = this.credentials.project;
    if (this.credentials.token) headers.Authorization = `Bearer ${this.credentials.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    // Live figures: never from the HTTP cache. (Not a literal argument: Node's RequestInit, used when
    // the unit tests type-check this file, does not declare `cache`.)
    const init = { method, headers, cache: 'no-store' as const, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) };
    let res: Response;
    try {
      res = await this.fetchFn(this.base + path, init);
    } catch (err) {
      throw new ApiError(0, 'Network error', err instanceof Error ? err.message : String(err));
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const doc = (json ?? {}) as { title?: unknown; description?: unknown; message?: unknown };
      // Zaqar's {title, description}; API Gateway's authorizer answers {message}.
      const title = typeof doc.title === 'string' ? doc.title : typeof doc.message === 'string' ? doc.message : `HTTP ${res.status}`;
      throw new ApiError(res.status, title, typeof doc.description === 'string' ? doc.description : '');
    }
    return { status: res.status, json, headers: res.headers };
  }

  /** A page of queue names, alphabetical. */
  async listQueues(marker?: string): Promise<Page<string>> {
    const limit = LIMITS.QUEUES_PER_PAGE_MAX;
    const q = new URLSearchParams({ limit: String(limit), ...(marker ? { marker } : {}) });
    const { json } = await this.call('GET', `/queues?${q}`);
    const doc = json as { queues: { name: string }[]; links?: { href: string }[] };
    return pageOf(
      doc.queues.map((queue) => queue.name),
      doc.links,
      limit,
    );
  }

  /** True when the queue was created, false when it already existed. */
  async createQueue(name: string): Promise<boolean> {
    return (await this.call('PUT', `/queues/${seg(name)}`)).status === 201;
  }

  async deleteQueue(name: string): Promise<void> {
    await this.call('DELETE', `/queues/${seg(name)}`);
  }

  async stats(name: string): Promise<QueueStats> {
    const { json } = await this.call('GET', `/queues/${seg(name)}/stats?include_delayed=true`);
    const figures = (json as { messages: Omit<QueueStats, 'delayed'> & { delayed?: number } }).messages;
    const delayed = figures.delayed ?? 0;
    return { ...figures, free: Math.max(0, figures.free - delayed), delayed };
  }

  async purge(name: string): Promise<void> {
    await this.call('POST', `/queues/${seg(name)}/purge`, { resource_types: ['messages'] });
  }

  /**
   * A page of messages. `echo=true`: the console is an observer, and Zaqar otherwise hides the
   * messages this Client-ID posted (its own test messages among them).
   */
  async listMessages(name: string, query: MessageQuery): Promise<Page<Message>> {
    const q = new URLSearchParams({
      limit: String(query.limit),
      echo: 'true',
      include_claimed: String(query.includeClaimed),
      include_delayed: String(query.includeDelayed),
      ...(query.marker ? { marker: query.marker } : {}),
    });
    const { json } = await this.call('GET', `/queues/${seg(name)}/messages?${q}`);
    const doc = (json ?? { messages: [] }) as { messages: Message[]; links?: { href: string }[] };
    return pageOf(doc.messages, doc.links, query.limit);
  }

  /** Posts one message; returns its id. */
  async postMessage(name: string, message: NewMessage): Promise<string> {
    const { json } = await this.call('POST', `/queues/${seg(name)}/messages`, { messages: [message] });
    const href = (json as { resources: string[] }).resources[0] ?? '';
    return href.slice(href.lastIndexOf('/') + 1);
  }

  async metadata(name: string): Promise<QueueMetadata> {
    const { json } = await this.call('GET', `/queues/${seg(name)}`);
    return (json ?? {}) as QueueMetadata;
  }

  /** The queue's redrive (running or the last one), or undefined when it never had one. */
  async getRedrive(name: string): Promise<Redrive | undefined> {
    try {
      return (await this.call('GET', `/queues/${seg(name)}/redrive`)).json as Redrive;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Starts moving the queue's messages back (409 while one runs). */
  async startRedrive(name: string, options: RedriveOptions): Promise<Redrive> {
    return (await this.call('POST', `/queues/${seg(name)}/redrive`, options)).json as Redrive;
  }

  async cancelRedrive(name: string): Promise<void> {
    await this.call('DELETE', `/queues/${seg(name)}/redrive`);
  }

  async getClaim(name: string, claimId: string): Promise<Claim> {
    const { json } = await this.call('GET', `/queues/${seg(name)}/claims/${seg(claimId)}`);
    return json as Claim;
  }
}
