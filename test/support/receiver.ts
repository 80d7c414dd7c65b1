/**
 * A webhook receiver for the subscription tests: a real HTTP server on loopback that records every
 * request and answers as the test says (a status, after an optional delay), so deliveries,
 * retries, timeouts and signatures are observed the way a subscriber sees them.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** Parsed JSON body (undefined when it is not JSON). */
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** How to answer the n-th request (0-based) carrying a given message id (or confirmation). */
export type Behaviour = (request: Received, nth: number) => { status: number; delayMs?: number };

export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Requests per message id (`x-cloud-queues-message-id`), in arrival order. */
  byMessage(): Map<string, Received[]>;
  /** Answers from now on as `behaviour` says (default: 204 at once). */
  answer(behaviour: Behaviour): void;
  close(): Promise<void>;
}

export async function startReceiver(path = '/hook'): Promise<Receiver> {
  const received: Received[] = [];
  const seen = new Map<string, number>();
  let behaviour: Behaviour = () => ({ status: 204 });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const request: Received = { path: req.url ?? '', headers: req.headers, body, json };
      received.push(request);
      const key = String(req.headers['x-cloud-queues-message-id'] ?? 'confirmation');
      const nth = seen.get(key) ?? 0;
      seen.set(key, nth + 1);
      const { status, delayMs } = behaviour(request, nth);
      const reply = () => {
        if (!res.destroyed) res.writeHead(status).end();
      };
      if (delayMs) setTimeout(reply, delayMs).unref();
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    byMessage() {
      const out = new Map<string, Received[]>();
      for (const r of received) {
        const id = r.headers['x-cloud-queues-message-id'];
        if (typeof id !== 'string') continue;
        out.set(id, [...(out.get(id) ?? []), r]);
      }
      return out;
    },
    answer(next) {
      behaviour = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` until it returns true (or throws after `timeoutMs`): deliveries arrive asynchronously. */
export async function eventually(check: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
