/**
 * One HTTP exchange per route: builds the URL from the generated route table (the client never
 * spells a path itself), adds Client-ID and the auth headers, retries by the rules of retry.ts
 * and turns every unexpected answer into a typed error.
 */
import type { Auth } from './auth.js';
import { ConnectionError, errorFromResponse, QueuesError, type ErrorRequest } from './errors.js';
import { ROUTES, type RouteId } from './generated/routes.js';
import { backoffDelay, IDEMPOTENT, isRetryable, parseRetryAfter, type Outcome, type RetryOptions } from './retry.js';

export type QueryValue = string | number | boolean | readonly string[] | undefined;

export interface CallSpec {
  readonly route: RouteId;
  /** Values for the `{param}` segments of the route's path. */
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, QueryValue>>;
  /** JSON-encoded; omitted when undefined. */
  readonly body?: unknown;
  /** Defaults to application/json. */
  readonly contentType?: string;
  /** Overrides the route's entry in IDEMPOTENT (pop is a DELETE that is not). */
  readonly idempotent?: boolean;
  /** Statuses that are answers, not errors. */
  readonly ok: readonly number[];
  /** Extra time this call may take on top of the request timeout (long polling). */
  readonly extraTimeoutMs?: number;
  /** A text answer of this media type instead of JSON (e.g. `GET /v2/metrics`): `body` is the text. */
  readonly accept?: string;
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed JSON body (the text when the call asked for a text media type); undefined when empty. */
  readonly body: unknown;
}

export interface TransportOptions {
  /** Service root without `/v2`, e.g. `http://127.0.0.1:8888`. */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly auth: Auth | undefined;
  readonly retry: Required<RetryOptions>;
  readonly fetch: typeof fetch;
  readonly requestTimeoutMs: number;
}

/** Errors from fetch whose cause says nothing was sent: retrying cannot duplicate the request. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

function notSent(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return true;
  }
  return false;
}

function parseBody(text: string, request: ErrorRequest): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new QueuesError(`${request.method} ${request.path}: the answer is not JSON`, { cause: err });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `/v2/queues/{queue_name}` with the values filled in (each percent-encoded). */
export function buildPath(route: RouteId, params: Readonly<Record<string, string>> = {}): string {
  return ROUTES[route].path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined || value === '') throw new TypeError(`${route}: missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
}

/** Query string in Zaqar's form: booleans as true/false, arrays comma-separated; undefined skipped. */
export function buildQuery(query: Readonly<Record<string, QueryValue>> = {}): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(',') : String(value);
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(text)}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

export class Transport {
  constructor(private readonly options: TransportOptions) {}

  get clientId(): string {
    return this.options.clientId;
  }

  /** The absolute URL of a route (for pages the client links to rather than calls). */
  url(route: RouteId, params?: Readonly<Record<string, string>>): string {
    return this.options.baseUrl + buildPath(route, params);
  }

  /**
   * Sends the call, retrying where retry.ts allows; resolves with the answer when its status is
   * in `spec.ok`. Throws ZaqarError (a subclass per status) or ConnectionError.
   */
  async call(spec: CallSpec): Promise<Answer> {
    const { method } = ROUTES[spec.route];
    const path = buildPath(spec.route, spec.params) + buildQuery(spec.query);
    const request: ErrorRequest = { route: spec.route, method, path };
    const idempotent = spec.idempotent ?? IDEMPOTENT[spec.route];
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const { retry, auth } = this.options;
    let refreshed = false;
    let refresh = false;
    for (let retryNo = 0; ; ) {
      const headers: Record<string, string> = {
        Accept: spec.accept ?? 'application/json',
        'Client-ID': this.options.clientId,
        ...(auth ? await auth.headers({ refresh }) : {}),
      };
      refresh = false;
      if (body !== undefined) headers['Content-Type'] = spec.contentType ?? 'application/json';
      let response: Response;
      let text: string;
      try {
        response = await this.options.fetch(this.options.baseUrl + path, {
          method,
          headers,
          ...(body !== undefined ? { body } : {}),
          signal: AbortSignal.timeout(this.options.requestTimeoutMs + (spec.extraTimeoutMs ?? 0)),
        });
        text = await response.text();
      } catch (err) {
        const outcome: Outcome = { kind: 'no-answer', mayHaveLanded: !notSent(err) };
        if (retryNo < retry.retries && isRetryable(outcome, idempotent)) {
          await sleep(backoffDelay(retryNo++, retry));
          continue;
        }
        const why = [err, (err as { cause?: unknown })?.cause].filter((e) => e instanceof Error).map((e) => (e as Error).message).join(': ') || String(err);
        throw new ConnectionError(`${method} ${path}: no answer (${why})`, request, outcome.mayHaveLanded, { cause: err });
      }
      if (spec.ok.includes(response.status)) {
        const answer = spec.accept === undefined ? parseBody(text, request) : text;
        return { status: response.status, headers: response.headers, body: answer };
      }
      // The authorizer refused the token before the service ran: one more try with a fresh one.
      if (response.status === 401 && auth?.refreshOn401 && !refreshed) {
        refreshed = refresh = true;
        continue;
      }
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      if (retryNo < retry.retries && isRetryable({ kind: 'status', status: response.status }, idempotent)) {
        await sleep(backoffDelay(retryNo++, retry, retryAfterMs));
        continue;
      }
      throw errorFromResponse(response.status, response.statusText, text, request, retryAfterMs);
    }
  }
}
