/**
 * Local HTTP server: turns each Node request into an API Gateway HTTP API (payload 2.0) event,
 * calls the same handler Lambda runs, and writes the result back (the shape of middy's
 * ecs-http adapter). Bodies are capped before they are read; slow clients time out. Every
 * request gets an answer with the contract's body — CONNECT and unparsable ones included.
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { LIMITS } from '../core/limits.js';
import type { ApiHandler } from '../http/app.js';
import type { HttpEvent } from '../http/request.js';

export interface LocalServerOptions {
  readonly api: ApiHandler;
  /** One line per request; defaults to stdout. */
  readonly logRequest?: (line: string) => void;
  readonly maxBodyBytes?: number;
}

/**
 * Builds the API Gateway event for a request (null-ish body and query when empty, as API Gateway
 * does). A body that is not valid UTF-8 is delivered base64-encoded (`isBase64Encoded`), as API
 * Gateway delivers bodies it does not take for text: its bytes reach the handler unaltered.
 */
export function toEvent(req: IncomingMessage, bytes: Buffer | undefined): HttpEvent {
  const text = bytes === undefined || bytes.length === 0 ? undefined : isUtf8(bytes) ? bytes.toString('utf8') : undefined;
  const base64 = bytes !== undefined && bytes.length > 0 && text === undefined ? bytes.toString('base64') : undefined;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q >= 0 ? url.slice(0, q) : url;
  const rawQueryString = q >= 0 ? url.slice(q + 1) : '';
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQueryString)) {
    query[k] = k in query ? `${query[k]},${v}` : v;
  }
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
      http: {
        method: (req.method ?? 'GET').toUpperCase(),
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
    },
    ...(text !== undefined ? { body: text } : base64 !== undefined ? { body: base64 } : {}),
    isBase64Encoded: base64 !== undefined,
  } as HttpEvent;
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** An answer written straight to the socket (no ServerResponse exists for it); the connection closes. */
function writeRaw(socket: Duplex, status: number, headers: Record<string, string>, body: string): void {
  const lines = Object.entries({ 'content-type': 'application/json; charset=UTF-8', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${lines.join('')}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

const tooLarge = (max: number) =>
  JSON.stringify({ title: 'Request entity too large', description: `Request bodies may not exceed ${max} bytes.` });

export function createLocalServer(options: LocalServerOptions): Server {
  const max = options.maxBodyBytes ?? LIMITS.REQUEST_BODY_HARD_MAX_BYTES;
  const log = options.logRequest ?? ((line: string) => console.log(line));
  // Timeouts below are enforced by a periodic check: every second, not Node's default 30 s.
  const server = createServer({ connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS }, (req, res) => {
    const started = process.hrtime.bigint();
    const finish = (status: number) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log(`${req.method} ${req.url} ${status} ${ms.toFixed(1)}ms`);
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      // Refuse before reading a byte; close so the client stops sending.
      res.setHeader('connection', 'close');
      send(res, 413, { 'content-type': 'application/json; charset=UTF-8' }, tooLarge(max));
      req.resume();
      finish(413);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    req.on('data', (chunk: Buffer) => {
      if (aborted) return;
      size += chunk.length;
      if (size > max) {
        aborted = true;
        res.setHeader('connection', 'close');
        send(res, 413, { 'content-type': 'application/json; charset=UTF-8' }, tooLarge(max));
        finish(413);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (aborted) return;
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      options
        .api(toEvent(req, body))
        .then((result) => {
          send(res, result.statusCode, result.headers ?? {}, result.body ?? '');
          finish(result.statusCode);
        })
        .catch((err: unknown) => {
          // createApi already maps every error; this is the last line of defence.
          console.error(err);
          send(res, 503, { 'content-type': 'application/json; charset=UTF-8' }, JSON.stringify({
            title: 'Service temporarily unavailable',
            description: 'The request could not be completed. Please try again in a few seconds.',
          }));
          finish(503);
        });
    });
    req.on('error', () => undefined);
  });
  // Requests Node's parser refuses (oversize headers, malformed request lines, unknown methods)
  // still get the contract's {title, description} body rather than Node's bare status line.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const [status, title] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request header fields too large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request timeout']
          : [400, 'Bad request'];
    // A HEAD request gets no body (the client would read it as the next response).
    const head = (err as { rawPacket?: Buffer }).rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
    writeRaw(socket, status, {}, head ? '' : JSON.stringify({ title, description: 'The request could not be read.' }));
  });
  // NOTE: Node hands CONNECT to this event (not to 'request') and drops the connection when nobody
  // listens. The API serves no CONNECT: a path target gets the route table's 405/404 like any
  // other method; an authority target (`host:port`, a proxy request) is not a path at all: 400.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    const started = process.hrtime.bigint();
    const done = (status: number) => log(`${req.method} ${req.url} ${status} ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(1)}ms`);
    if (!(req.url ?? '').startsWith('/')) {
      writeRaw(socket, 400, {}, JSON.stringify({ title: 'Bad request', description: 'CONNECT is not served: this is not a proxy.' }));
      done(400);
      return;
    }
    options.api(toEvent(req, undefined)).then(
      (result) => {
        writeRaw(socket, result.statusCode, result.headers ?? {}, result.body ?? '');
        done(result.statusCode);
      },
      () => socket.destroy(),
    );
  });
  // Slow or idle clients cannot hold the server: bounded header and request times.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  return server;
}
