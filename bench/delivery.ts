/**
 * `npm run bench:delivery [-- --quick]`: push delivery in local mode (`npm start`'s wiring:
 * DynamoDB Local's stream → the notifier → webhooks), measured from the outside. Receivers on
 * loopback record when each message arrives; latency is post (request sent) → received.
 * Two scenarios:
 * - latency: one subscriber, messages posted one by one at a steady pace;
 * - throughput: several producers posting batches of 10 to one queue with several subscribers,
 *   as fast as the API takes them; deliveries/s over the whole run (first post → last delivery).
 * Writes its section of docs/benchmarks.md (bench/delivery-section.ts keeps it across `npm run bench`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { startDynamoDbLocal } from '../functions/local/dynamodb-local.js';
import { startLocalStack, type LocalStack } from '../functions/local/stack.js';
import { renderDeliverySection, spliceDeliverySection, type DeliveryResults, type ScenarioFigures } from './delivery-section.js';
import { percentile } from './stats.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ROOT = resolve(import.meta.dirname, '..');
const DYNAMO_START_MS = 300_000;

interface Receiver {
  readonly url: string;
  /** Arrival time (ms, performance clock) of each message id's first delivery. */
  readonly arrivals: Map<string, number>;
  deliveries: number;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const arrivals = new Map<string, number>();
  const receiver = { arrivals, deliveries: 0 } as { arrivals: Map<string, number>; deliveries: number };
  const server: Server = createServer((req, res) => {
    const id = String(req.headers['x-cloud-queues-message-id'] ?? '');
    req.resume();
    req.on('end', () => {
      if (id && !arrivals.has(id)) arrivals.set(id, performance.now());
      receiver.deliveries++;
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hook`,
    close: () => new Promise<void>((done) => (server.closeAllConnections(), server.close(() => done()))),
  });
}

const project = `bench-${randomUUID()}`;
const headers = (clientId: string) => ({ 'content-type': 'application/json', 'x-project-id': project, 'client-id': clientId });

async function post(base: string, queue: string, clientId: string, bodies: unknown[]): Promise<string[]> {
  const res = await fetch(`${base}/v2/queues/${queue}/messages`, {
    method: 'POST',
    headers: headers(clientId),
    body: JSON.stringify({ messages: bodies.map((body) => ({ body, ttl: 3600 })) }),
  });
  if (res.status !== 201) throw new Error(`post answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { resources: string[] }).resources.map((href) => href.split('/').pop() as string);
}

async function subscribe(base: string, queue: string, subscriber: string): Promise<void> {
  const res = await fetch(`${base}/v2/queues/${queue}/subscriptions`, { method: 'POST', headers: headers(randomUUID()), body: JSON.stringify({ subscriber, ttl: 3600 }) });
  if (res.status !== 201) throw new Error(`subscribe answered ${res.status}: ${await res.text()}`);
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

const BODY = { text: 'x'.repeat(200) };

/** One subscriber; one message at a time, `gapMs` apart; latency of each. */
async function latencyScenario(base: string, seconds: number, gapMs: number): Promise<ScenarioFigures> {
  const queue = `delivery-latency-${randomUUID().slice(0, 8)}`;
  const receiver = await startReceiver();
  await subscribe(base, queue, receiver.url);
  const sentAt = new Map<string, number>();
  const end = Date.now() + seconds * 1000;
  const clientId = randomUUID();
  while (Date.now() < end) {
    const t = performance.now();
    const [id] = await post(base, queue, clientId, [BODY]);
    sentAt.set(id as string, t);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  await waitFor(() => receiver.arrivals.size >= sentAt.size, 30_000);
  await receiver.close();
  return figures(sentAt, [receiver], 1);
}

/** `producers` posting batches of 10 to one queue with `subscribers` subscribers, for `seconds`. */
async function throughputScenario(base: string, seconds: number, producers: number, subscribers: number): Promise<ScenarioFigures> {
  const queue = `delivery-fanout-${randomUUID().slice(0, 8)}`;
  const receivers = await Promise.all(Array.from({ length: subscribers }, startReceiver));
  for (const r of receivers) await subscribe(base, queue, r.url);
  const sentAt = new Map<string, number>();
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: producers }, async () => {
      const clientId = randomUUID();
      while (Date.now() < end) {
        const t = performance.now();
        for (const id of await post(base, queue, clientId, Array.from({ length: 10 }, () => BODY))) sentAt.set(id, t);
      }
    }),
  );
  await waitFor(() => receivers.every((r) => r.arrivals.size >= sentAt.size), 120_000);
  await Promise.all(receivers.map((r) => r.close()));
  return figures(sentAt, receivers, producers);
}

function figures(sentAt: Map<string, number>, receivers: Receiver[], producers: number): ScenarioFigures {
  const latencies: number[] = [];
  let last = 0;
  for (const r of receivers) {
    for (const [id, at] of r.arrivals) {
      const sent = sentAt.get(id);
      if (sent === undefined) continue;
      latencies.push(at - sent);
      last = Math.max(last, at);
    }
  }
  latencies.sort((a, b) => a - b);
  const first = Math.min(...sentAt.values());
  const expected = sentAt.size * receivers.length;
  return {
    producers,
    subscribers: receivers.length,
    messages: sentAt.size,
    delivered: latencies.length,
    missing: expected - latencies.length,
    duplicates: receivers.reduce((n, r) => n + r.deliveries - r.arrivals.size, 0),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    deliveriesPerSecond: latencies.length / ((last - first) / 1000),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
  const quick = values.quick ?? false;
  const seconds = quick ? 5 : 15;
  // Started here with a patient start-up timeout: a loaded machine can take minutes to boot the JVM.
  const dynamo = await startDynamoDbLocal({ readyTimeoutMs: DYNAMO_START_MS });
  const local: LocalStack = await startLocalStack({
    dynamoEndpoint: dynamo.endpoint,
    tableName: 'bench-delivery',
    logRequest: () => undefined,
    logger: { info: () => undefined, error: (message, details) => console.error(message, details) },
  });
  const base = local.url;
  try {
    // Warm-up, not measured: the stream reader finds its shards, the containers and connections exist.
    const warm = await throughputScenario(base, 1, 1, 1);
    console.log('warm-up', warm);
    const latency = await latencyScenario(base, seconds, 50);
    console.log('latency', latency);
    const throughput: ScenarioFigures[] = [];
    for (const [producers, subscribers] of quick ? [[2, 4]] : [[2, 1], [4, 4], [4, 10]]) {
      const f = await throughputScenario(base, seconds, producers as number, subscribers as number);
      console.log('throughput', f);
      throughput.push(f);
    }
    const results: DeliveryResults = {
      date: new Date().toISOString().slice(0, 10),
      cpus: cpus().length,
      load: loadavg()[0] ?? 0,
      seconds,
      latency,
      throughput,
    };
    const file = values.out ? resolve(values.out) : resolve(ROOT, 'docs/benchmarks.md');
    let doc = '';
    try {
      doc = readFileSync(file, 'utf8');
    } catch {
      doc = '# Benchmarks\n';
    }
    writeFileSync(file, spliceDeliverySection(doc, renderDeliverySection(results)));
    console.log(`wrote ${file}`);
  } finally {
    await local.stop();
    await dynamo.stop();
  }
}

await main();
