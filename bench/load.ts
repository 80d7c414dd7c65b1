/**
 * Load scenarios over HTTP: post (producers on one queue), consume (consumers draining a backlog),
 * fan-out (pub–sub by marker) and work queue (producers and consumers at once). Every worker is a
 * closed loop (one request in flight at a time) with its own Client-ID, so concurrency is the number
 * of workers; throughput is messages moved per second of wall time. With a write probe (the
 * in-process stack), each scenario also reports what DynamoDB saw while it ran: write requests,
 * those it refused, and the write units per partition key.
 */
import { randomUUID } from 'node:crypto';
import { CLAIM_LIMIT, messageBody, ZaqarClient, type ClientOptions } from './client.js';
import { SETUP_RETRIES } from './quiet.js';
import { probeDiff, type WriteCounts, type WriteProbe } from './probe.js';
import { Backlog, backlogWaits, emptyClaimFill, Recorder, recordClaim, type ClaimFill, type LatencySummary } from './stats.js';

/** How long an idle consumer or subscriber waits before asking again (ms). */
const IDLE_WAIT_MS = 20;
/** Back-off after a failed request (ms), so an erroring endpoint is not hammered. */
const ERROR_WAIT_MS = 50;
const PROGRESS_EVERY_MS = 1_000;
/** Attempts of one backlog post that failed (it is repeated: the backlog must reach its size). */
const BACKLOG_ATTEMPTS = 5;
/** Messages per post while loading a backlog. */
const BACKLOG_BATCH = 10;

export type ScenarioKind = 'post' | 'consume' | 'fanout' | 'workqueue';

export interface ScenarioSpec {
  readonly kind: ScenarioKind;
  readonly producers: number;
  /** Consumers (consume, work queue) or subscribers (fan-out). */
  readonly consumers: number;
  /** Messages per post request. */
  readonly batch: number;
  readonly seconds: number;
  /** Approximate JSON size of each message body (bytes). */
  readonly bodyBytes: number;
  /** Consume: messages posted before the consumers start (unless it drains another run's queue). */
  readonly backlog?: number;
  /** Consume: the label of the post run whose queue (and messages) it drains instead. */
  readonly drains?: string;
  /** Post: the workers are spread over this many `npm start` processes sharing one DynamoDB. */
  readonly servers?: number;
  /** Post: against one shared handler (one store and client for all requests) instead of containers. */
  readonly sharedStore?: boolean;
  /**
   * Post: each producer posts exactly this many batches (a failed post is sent again), so every
   * producer — and so every lane — carries the same load; `seconds` only caps the run. Without it
   * producers post until the time is up, each as fast as the machine lets it.
   */
  readonly batchesEach?: number;
  /**
   * Post: each producer posts one message before the run is measured, so its binding to a lane
   * (once per Client-ID and queue, kept 16 days) is not counted against the run's messages.
   */
  readonly bindFirst?: boolean;
}

export interface OpResult extends LatencySummary {
  /** Requests per second. */
  readonly rate: number;
}

/** Units and write requests one partition key took during a run. */
export type KeyLoad = Readonly<Record<string, { readonly units: number; readonly requests: number }>>;

export interface ScenarioResult {
  readonly spec: ScenarioSpec;
  readonly label: string;
  readonly elapsed: number;
  /** Messages per second: posted, consumed (deleted after a claim), delivered (listed by a subscriber). */
  readonly posted: number;
  readonly consumed: number;
  readonly delivered: number;
  /** Messages posted and deleted during the run (counts, not rates). */
  readonly postedMessages: number;
  readonly deletedMessages: number;
  /** Post with bindFirst: messages posted (one per producer) before the run was measured. */
  readonly boundMessages?: number;
  /** Consume: messages the queue held when the consumers started. */
  readonly backlogAtStart?: number;
  readonly ops: Readonly<Record<string, OpResult>>;
  readonly errors: number;
  /** Posts that did not answer 201. */
  readonly failedPosts: number;
  /** Claims answered 204. */
  readonly emptyClaims: number;
  /** Consume: how the claims filled while the backlog waited. */
  readonly fill?: ClaimFill;
  /** With a write probe: DynamoDB write requests during the run, and the refused ones. */
  readonly writes?: WriteCounts;
  /** With a write probe: write units per partition key during the run. */
  readonly keys?: KeyLoad;
  readonly firstError?: string;
}

export interface ScenarioOptions {
  /** Counts DynamoDB writes during the run (in-process stack only). */
  readonly probe?: WriteProbe;
  /** Keep the queue afterwards (another scenario drains it); its name and what it holds come back. */
  readonly keepQueue?: boolean;
  /** Consume: drain this queue (holding `backlog` messages) instead of loading a new one. */
  readonly queue?: { readonly name: string; readonly backlog: number };
  /** Endpoints the workers are spread over, round-robin (several servers on one database); default: the target's. */
  readonly urls?: readonly string[];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function scenarioLabel(s: ScenarioSpec): string {
  switch (s.kind) {
    case 'post':
      return `post P=${s.producers} batch=${s.batch}${s.batchesEach ? ` ×${s.batchesEach} each` : ''}${s.servers ? ` over ${s.servers} processes` : ''}${s.sharedStore ? ' shared store' : ''}`;
    case 'consume':
      return s.drains ? `consume C=${s.consumers} (drains ${s.drains})` : `consume C=${s.consumers} backlog=${s.backlog ?? 0}`;
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

/** A setup request, sent again after a failure (up to BACKLOG_ATTEMPTS times). */
async function retried<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= BACKLOG_ATTEMPTS) throw err;
      await sleep(ERROR_WAIT_MS);
    }
  }
}

/**
 * Posts `count` messages to `queue`, one post at a time from one producer (one Client-ID: the
 * backlog sits on one lane, the hardest case for consumers; a producer's posts go one after
 * another); the number posted. A failed post is repeated (if it landed after all, the backlog is
 * only larger than counted).
 */
async function loadBacklog(target: ClientOptions, queue: string, count: number, bodyBytes: number): Promise<number> {
  let posted = 0;
  const client = new ZaqarClient({ ...target, retries: SETUP_RETRIES });
  while (posted < count) {
    const bodies = Array.from({ length: Math.min(BACKLOG_BATCH, count - posted) }, (_, i) => messageBody(bodyBytes, i));
    posted += (await retried(() => client.post(queue, bodies))).length;
  }
  return posted;
}

/**
 * Runs one scenario on a fresh queue (or, for a consume run given `options.queue`, on that one) and
 * deletes the queue afterwards unless told to keep it.
 */
export async function runScenario(target: ClientOptions, spec: ScenarioSpec, options: ScenarioOptions = {}): Promise<ScenarioResult & { queue: string }> {
  const label = scenarioLabel(spec);
  const admin = new ZaqarClient({ ...target, retries: SETUP_RETRIES });
  const queue = options.queue?.name ?? `bench-${spec.kind}-${randomUUID().slice(0, 8)}`;
  if (!options.queue) await admin.createQueue(queue);
  const backlog = new Backlog(options.queue?.backlog ?? 0);
  if (spec.kind === 'consume' && !options.queue) backlog.posted(await loadBacklog(target, queue, spec.backlog ?? 0, spec.bodyBytes));
  const backlogAtStart = backlog.claimable;
  const urls = options.urls?.length ? options.urls : [target.url];
  let spread = 0;
  /** The next worker's client: its own Client-ID, on the next endpoint. */
  const newClient = () => new ZaqarClient({ ...target, url: urls[spread++ % urls.length] ?? target.url });
  const producerClients = spec.kind === 'consume' ? [] : Array.from({ length: spec.producers }, newClient);
  let boundMessages = 0;
  if (spec.bindFirst) {
    // All at once, as the measured posts will come (a failed one is sent again: its Client-ID may then
    // hold one message more than counted, which only makes the backlog larger).
    const bound = await Promise.all(producerClients.map((c) => retried(() => c.post(queue, [messageBody(spec.bodyBytes, 0)]))));
    boundMessages = bound.reduce((n, ids) => n + ids.length, 0);
    backlog.posted(boundMessages);
  }
  const rec = new Recorder();
  const fill = emptyClaimFill();
  let emptyClaims = 0;
  let firstError: string | undefined;
  const probeBefore = options.probe?.snapshot();
  const start = performance.now();
  const deadline = start + spec.seconds * 1000;
  const running = () => performance.now() < deadline;

  /** Times one request; failures are counted, remembered once, and slow the worker down. */
  async function timed<T>(op: string, fn: () => Promise<T>, items: (r: T) => number): Promise<{ value: T } | undefined> {
    const t0 = performance.now();
    try {
      const value = await fn();
      rec.record(op, performance.now() - t0, items(value));
      return { value };
    } catch (err) {
      rec.error(op);
      firstError ??= err instanceof Error ? err.message : String(err);
      await sleep(ERROR_WAIT_MS);
      return undefined;
    }
  }

  const producer = async (client: ZaqarClient) => {
    const bodies = Array.from({ length: spec.batch }, (_, i) => messageBody(spec.bodyBytes, i));
    for (let done = 0; running() && (spec.batchesEach === undefined || done < spec.batchesEach); ) {
      const ids = await timed('post', () => client.post(queue, bodies), (r) => r.length);
      if (ids) {
        backlog.posted(ids.value.length);
        done++;
      }
    }
  };
  /**
   * Claims then deletes each claimed message. A consume run's consumers stop once nothing is left to
   * claim (or the time is up): its msgs/s is the whole backlog's, as issue 11 measured it; its fill
   * counts only the claims sent while the backlog waited.
   */
  const consumer = async () => {
    const client = newClient();
    const draining = spec.kind === 'consume';
    for (;;) {
      const waited = backlogWaits(backlog.claimable, spec.consumers, CLAIM_LIMIT);
      if (!running() || (draining && backlog.claimable <= 0)) return;
      const claim = await timed('claim', () => client.claim(queue), (c) => c.messages.length);
      if (!claim) continue;
      const got = claim.value.messages;
      recordClaim(fill, got.length, CLAIM_LIMIT, waited);
      backlog.claimed(got.length);
      if (got.length === 0) {
        emptyClaims++;
        await sleep(IDLE_WAIT_MS);
        continue;
      }
      for (const m of got) {
        if (await timed('delete', () => client.deleteClaimed(queue, m), () => 1)) backlog.deleted();
      }
    }
  };
  const subscriber = async () => {
    const client = newClient();
    let marker: string | undefined;
    while (running()) {
      const page = await timed('list', () => client.list(queue, marker), (p) => p.ids.length);
      if (!page) continue;
      marker = page.value.next;
      if (page.value.ids.length === 0) await sleep(IDLE_WAIT_MS);
    }
  };

  const workers: Promise<void>[] = [];
  for (const client of producerClients) workers.push(producer(client));
  for (let i = 0; i < spec.consumers; i++) workers.push(spec.kind === 'fanout' ? subscriber() : consumer());

  const progress = progressWriter();
  const ticker = setInterval(() => {
    const t = (performance.now() - start) / 1000;
    const rate = (op: string) => Math.round(rec.itemCount(op) / t);
    const parts = [`[${label}] ${t.toFixed(0)}/${spec.seconds}s`];
    if (spec.kind !== 'consume') parts.push(`posted ${rate('post')}/s`, `post p99 ${rec.recentP99('post').toFixed(0)}ms`);
    if (spec.kind === 'workqueue' || spec.kind === 'consume') parts.push(`consumed ${rate('delete')}/s`, `claim p99 ${rec.recentP99('claim').toFixed(0)}ms`);
    if (spec.kind === 'consume') parts.push(`backlog ${backlog.claimable}`);
    if (spec.kind === 'fanout') parts.push(`delivered ${rate('list')}/s`, `list p99 ${rec.recentP99('list').toFixed(0)}ms`);
    parts.push(`errors ${rec.errorCount()}`);
    progress.line(parts.join('  '));
  }, PROGRESS_EVERY_MS);
  try {
    await Promise.all(workers);
  } finally {
    clearInterval(ticker);
    progress.done();
  }
  const elapsed = (performance.now() - start) / 1000;
  const probed = options.probe && probeBefore ? probeDiff(options.probe.snapshot(), probeBefore) : undefined;
  if (!options.keepQueue) await admin.deleteQueue(queue).catch(() => undefined);

  const ops: Record<string, OpResult> = {};
  for (const op of rec.ops()) ops[op] = { ...rec.summary(op), rate: rec.count(op) / elapsed };
  return {
    spec,
    label,
    queue,
    elapsed,
    posted: rec.itemCount('post') / elapsed,
    consumed: rec.itemCount('delete') / elapsed,
    delivered: rec.itemCount('list') / elapsed,
    postedMessages: rec.itemCount('post'),
    deletedMessages: rec.itemCount('delete'),
    ops,
    errors: rec.errorCount(),
    failedPosts: rec.errorCount('post'),
    emptyClaims,
    ...(spec.kind === 'consume' ? { fill, backlogAtStart } : {}),
    ...(spec.bindFirst ? { boundMessages } : {}),
    ...(probed ? { writes: probed.writes, keys: Object.fromEntries(probed.keys) } : {}),
    ...(firstError !== undefined ? { firstError } : {}),
  };
}
