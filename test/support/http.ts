/** A small HTTP client for tests: sends Client-ID / X-Project-ID like any Zaqar client. */
import { randomUUID } from 'node:crypto';

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** Parsed JSON body (undefined when empty). */
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RequestOptions {
  readonly body?: unknown;
  /** Sent as is (not JSON-encoded). */
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
  readonly project?: string | null;
  readonly clientId?: string | null;
}

export class Client {
  constructor(
    readonly baseUrl: string,
    readonly project: string = `p-${randomUUID()}`,
    readonly clientId: string = randomUUID(),
  ) {}

  withProject(project: string): Client {
    return new Client(this.baseUrl, project, this.clientId);
  }

  withClientId(clientId: string): Client {
    return new Client(this.baseUrl, this.project, clientId);
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    const clientId = options.clientId === undefined ? this.clientId : options.clientId;
    const project = options.project === undefined ? this.project : options.project;
    if (clientId !== null) headers['Client-ID'] = clientId;
    if (project !== null) headers['X-Project-ID'] = project;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const res = await fetch(this.baseUrl + path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  get = (path: string, o?: RequestOptions) => this.request('GET', path, o);
  put = (path: string, o?: RequestOptions) => this.request('PUT', path, o);
  post = (path: string, o?: RequestOptions) => this.request('POST', path, o);
  patch = (path: string, o?: RequestOptions) => this.request('PATCH', path, o);
  delete = (path: string, o?: RequestOptions) => this.request('DELETE', path, o);

  /** Posts `bodies` as one batch; returns the message ids. */
  async postMessages(queue: string, bodies: unknown[], ttl?: number): Promise<string[]> {
    const r = await this.post(`/v2/queues/${queue}/messages`, {
      body: { messages: bodies.map((body) => (ttl === undefined ? { body } : { body, ttl })) },
    });
    if (r.status !== 201) throw new Error(`post failed: ${r.status} ${r.text}`);
    return (r.json.resources as string[]).map((href) => href.split('/').pop() as string);
  }
}
