/**
 * Load scenarios over HTTP: post, fan-out (pub–sub by marker) and work queue (claim → delete).
 * Every worker is a closed loop (one request in flight at a time), so concurrency is the
 * number of workers; throughput is messages moved per second of wall time.
 */
import { randomUUID } from 'node:crypto';
import { messageBody, ZaqarClient, type ClientOptions } from './client.js';
import { Recorder, type LatencySummary } from './stats.js';

/** How long an idle consumer or subscriber waits before asking again (ms). */
const IDLE_WAIT_MS = 20;
/** Back-off after a failed request (ms), so an erroring endpoint is not hammered. */
const ERROR_WAIT_MS = 50;
const PROGRESS_EVERY_MS = 1_000;

export type ScenarioKind = 'post' | 'fanout' | 'workqueue';

export interface ScenarioSpec {
  readonly kind: ScenarioKind;
  readonly producers: number;
  /** Consumers (work queue) or subscribers (fan-out). */
  readonly consumers: number;
  /** Messages per post request. */
  readonly batch: number;
  readonly seconds: number;
  /** Approximate JSON size of each message body (bytes). */
  readonly bodyBytes: number;
}

export interface OpResult extends LatencySummary {
  /** Requests per second. */
  readonly rate: number;
}

export interface ScenarioResult {
  readonly spec: ScenarioSpec;
  readonly label: string;
  readonly elapsed: number;
  /** Messages per second: posted, consumed (deleted after a claim), delivered (listed by a subscriber). */
  readonly posted: number;
  readonly consumed: number;
  readonly delivered: number;
  readonly ops: Readonly<Record<string, OpResult>>;
  readonly errors: number;
  readonly emptyClaims: number;
  readonly firstError?: string;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function scenarioLabel(s: ScenarioSpec): string {
  switch (s.kind) {
    case 'post':
      return `post P=${s.producers} batch=${s.batch}`;
    case 'fanout':
      return `fan-out P=${s.producers} K=${s.consumers} batch=${s.batch}`;
    case 'workqueue':
      return `work queue P=${s.producers} C=${s.consumers} batch=${s.batch}`;
  }
}

/** Writes a one-line progress report: in place on a terminal, every few seconds otherwise. */
export function progressWriter(stream: NodeJS.WriteStream = process.stderr): { line(text: string): void; done(): void } {
  let lastPlain = 0;
  return {
    line(text) {
      if (stream.isTTY) stream.write(`\r\x1b[2K${text}`);
      else if (Date.now() - lastPlain >= 5_000) {
        lastPlain = Date.now();
        stream.write(`${text}\n`);
      }
    },
    done() {
      if (stream.isTTY) stream.write('\n');
    },
  };
}

/** Runs one scenario on a fresh queue and deletes the queue afterwards. */
export async function runScenario(target: ClientOptions, spec: ScenarioSpec): Promise<ScenarioResult> {
  const label = scenarioLabel(spec);
  const queue = `bench-${spec.kind}-${randomUUID().slice(0, 8)}`;
  const admin = new ZaqarClient(target);
  await admin.createQueue(queue);
  const rec = new Recorder();
  let emptyClaims = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const deadline = start + spec.seconds * 1000;
  const running = () => performance.now() < deadline;

  /** Times one request; failures are counted, remembered once, and slow the worker down. */
  async function timed<T>(op: string, fn: () => Promise<T>, items: (r: T) => number): Promise<T | undefined> {
    const t0 = performance.now();
    try {
      const r = await fn();
      rec.record(op, performance.now() - t0, items(r));
      return r;
    } catch (err) {
      rec.error(op);
      firstError ??= err instanceof Error ? err.message : String(err);
      await sleep(ERROR_WAIT_MS);
      return undefined;
    }
  }

  const producer = async () => {
    const client = new ZaqarClient(target);
    const bodies = Array.from({ length: spec.batch }, (_, i) => messageBody(spec.bodyBytes, i));
    while (running()) await timed('post', () => client.post(queue, bodies), (ids) => ids.length);
  };
  const consumer = async () => {
    const client = new ZaqarClient(target);
    while (running()) {
      const claim = await timed('claim', () => client.claim(queue), (c) => c.messages.length);
      if (!claim) continue;
      if (claim.messages.length === 0) {
        emptyClaims++;
        await sleep(IDLE_WAIT_MS);
        continue;
      }
      for (const m of claim.messages) await timed('delete', () => client.deleteClaimed(queue, m), () => 1);
    }
  };
  const subscriber = async () => {
    const client = new ZaqarClient(target);
    let marker: string | undefined;
    while (running()) {
      const page = await timed('list', () => client.list(queue, marker), (p) => p.ids.length);
      if (!page) continue;
      marker = page.next;
      if (page.ids.length === 0) await sleep(IDLE_WAIT_MS);
    }
  };

  const workers: Promise<void>[] = [];
  for (let i = 0; i < spec.producers; i++) workers.push(producer());
  for (let i = 0; i < spec.consumers; i++) workers.push(spec.kind === 'fanout' ? subscriber() : consumer());

  const progress = progressWriter();
  const ticker = setInterval(() => {
    const t = (performance.now() - start) / 1000;
    const rate = (op: string) => Math.round(rec.itemCount(op) / t);
    const parts = [`[${label}] ${t.toFixed(0)}/${spec.seconds}s`, `posted ${rate('post')}/s`];
    if (spec.kind === 'workqueue') parts.push(`consumed ${rate('delete')}/s`, `claim p99 ${rec.recentP99('claim').toFixed(0)}ms`);
    if (spec.kind === 'fanout') parts.push(`delivered ${rate('list')}/s`, `list p99 ${rec.recentP99('list').toFixed(0)}ms`);
    parts.push(`post p99 ${rec.recentP99('post').toFixed(0)}ms`, `errors ${rec.errorCount()}`);
    progress.line(parts.join('  '));
  }, PROGRESS_EVERY_MS);
  try {
    await Promise.all(workers);
  } finally {
    clearInterval(ticker);
    progress.done();
  }
  const elapsed = (performance.now() - start) / 1000;
  await admin.deleteQueue(queue).catch(() => undefined);

  const ops: Record<string, OpResult> = {};
  for (const op of rec.ops()) ops[op] = { ...rec.summary(op), rate: rec.count(op) / elapsed };
  return {
    spec,
    label,
    elapsed,
    posted: rec.itemCount('post') / elapsed,
    consumed: rec.itemCount('delete') / elapsed,
    delivered: rec.itemCount('list') / elapsed,
    ops,
    errors: rec.errorCount(),
    emptyClaims,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}
