/**
 * Request limits of the local server (functions/local/server.ts), over raw sockets: a declared
 * Content-Length above the cap is refused with 413 before any body byte is sent; a chunked body
 * that grows past the cap is cut off with 413; slow-loris clients (headers or body trickling in)
 * are timed out and never stop other clients from being served.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../functions/core/limits.js';
import { Client } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/stack.js';
import { record } from './support.js';

const SLOW_CLIENTS = 20;
/** Shortened for the test (the server's own defaults are 10 s and 30 s); read at each periodic check. */
const TEST_HEADERS_TIMEOUT_MS = 1_500;
const TEST_REQUEST_TIMEOUT_MS = 3_000;

let stack: TestStack;
let client: Client;
let host: string;
let port: number;

beforeAll(async () => {
  stack = await startTestStack();
  client = new Client(stack.url);
  const url = new URL(stack.url);
  host = url.hostname;
  port = Number(url.port);
});
afterAll(async () => stack.stop());

const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;
const requestHead = (extra: string[]) =>
  head([`POST /v2/queues/limits/messages HTTP/1.1`, `Host: ${host}`, `Client-ID: ${client.clientId}`, `X-Project-ID: ${client.project}`, 'Content-Type: application/json', ...extra]);

/** Opens a socket and collects everything the server sends until it closes. */
function open(): { socket: Socket; closed: Promise<string> } {
  const socket = connect(port, host);
  socket.on('error', () => undefined); // a reset after the server's answer is expected here
  const closed = new Promise<string>((resolve) => {
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('close', () => resolve(data));
  });
  return { socket, closed };
}

const statusOf = (raw: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
const bodyOf = (raw: string): unknown => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));

describe('body caps are enforced before parsing', () => {
  it('Content-Length above the cap: 413 with the contract body, without a single body byte sent', async () => {
    const { socket, closed } = open();
    socket.write(requestHead([`Content-Length: ${LIMITS.REQUEST_BODY_HARD_MAX_BYTES + 1}`]));
    const raw = await closed; // the server answers and closes on the headers alone
    expect(statusOf(raw)).toBe(413);
    expect(bodyOf(raw)).toEqual({
      title: 'Request entity too large',
      description: `Request bodies may not exceed ${LIMITS.REQUEST_BODY_HARD_MAX_BYTES} bytes.`,
    });
  });

  it('a chunked body growing past the cap is cut off with 413', async () => {
    const { socket, closed } = open();
    socket.write(requestHead(['Transfer-Encoding: chunked']));
    const chunk = 'x'.repeat(64 * 1024);
    let sent = 0;
    let done = false;
    void closed.then(() => (done = true));
    // Keep sending until the server stops us; it never needs more than the cap plus one chunk.
    while (!done && sent < LIMITS.REQUEST_BODY_HARD_MAX_BYTES * 4) {
      if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)) await new Promise((r) => socket.once('drain', r).once('close', r));
      sent += chunk.length;
    }
    const raw = await closed;
    expect(statusOf(raw)).toBe(413);
    expect(bodyOf(raw)).toMatchObject({ title: 'Request entity too large' });
    expect(sent).toBeLessThan(LIMITS.REQUEST_BODY_HARD_MAX_BYTES * 4);
  });

  it('a body at the cap is read and judged by the API (400: above the message post size), not refused unread', async () => {
    const body = `{"messages":[{"body":"${'x'.repeat(LIMITS.REQUEST_BODY_HARD_MAX_BYTES - 40)}"}]}`;
    const r = await client.post('/v2/queues/limits/messages', { rawBody: body, headers: { 'Content-Type': 'application/json' } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.json).sort()).toEqual(['description', 'title']);
  });
});

describe('slow clients', () => {
  it('slow-loris headers and trickling bodies are timed out while everyone else is served', async () => {
    stack.server.headersTimeout = TEST_HEADERS_TIMEOUT_MS;
    stack.server.requestTimeout = TEST_REQUEST_TIMEOUT_MS;
    const slow = Array.from({ length: SLOW_CLIENTS }, (_, k) => {
      const c = open();
      if (k % 2 === 0) c.socket.write(`GET /v2/ping HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `); // headers never end
      else c.socket.write(requestHead(['Content-Length: 100']) + '{"mess'); // body never ends
      const drip = setInterval(() => c.socket.writable && c.socket.write(k % 2 === 0 ? 'a' : 'a'), 200);
      void c.closed.then(() => clearInterval(drip));
      return c;
    });
    // While they hang on, normal traffic is served.
    let served = 0;
    for (let i = 0; i < 10; i++) {
      const r = await client.get('/v2/ping');
      if (r.status === 204) served++;
    }
    expect(served).toBe(10);
    const answers = await Promise.all(slow.map((c) => c.closed));
    const statuses = answers.map(statusOf);
    record('limits', { slowClients: SLOW_CLIENTS, closedByServer: answers.length, statuses: [...new Set(statuses)], servedMeanwhile: served });
    // Every slow connection was closed by the server: 408 with the contract body, or a bare close.
    for (const raw of answers) {
      if (raw === '') continue;
      expect(statusOf(raw)).toBe(408);
      expect(Object.keys(bodyOf(raw) as object).sort()).toEqual(['description', 'title']);
    }
    expect((await client.get('/v2/ping')).status).toBe(204);
  });
});
