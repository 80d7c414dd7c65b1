/**
 * `npm run bench [-- flags]`: load, cost, depth and cold-start benchmarks; writes
 * docs/benchmarks.md and its SVG plots (or, with --url, --only or --containers, bench/out/ so a
 * partial run never overwrites the published tables). Flags: see USAGE.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONTAINERS } from '../functions/local/stack.js';
import { DEFAULT_LANES_PER_QUEUE } from '../functions/store/dynamo/store.js';
import type { QuietData } from './before/quiet.js';
import { BENCH_CLAIM_TTL, BENCH_MESSAGE_TTL, ZaqarClient } from './client.js';
import { measureColdStart } from './coldstart.js';
import { measureCost } from './cost.js';
import { measureDepth, measureStats } from './depth.js';
import { runScenario, type ScenarioResult, type ScenarioSpec } from './load.js';
import { depthSpec, renderSvg, throughputSpec } from './plot.js';
import { measureQuiet, SETUP_RETRIES } from './quiet.js';
import { mergeReport, renderReport, type RunResults } from './report.js';
import { startServers, stopServers } from './servers.js';
import { startBenchStack, type BenchStack } from './stack.js';
import { sweepQueueAhead } from './sweep.js';
import { probeDiff } from './probe.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ROOT = resolve(import.meta.dirname, '..');
/** The figures of the code before the lanes redesign (bench/before/measure.sh writes them). */
const QUIET_BEFORE = resolve(ROOT, 'bench/data/quiet-before.json');
const PUBLISHED = 'docs/benchmarks.md';
/** The results behind the published page. */
const PUBLISHED_RESULTS = 'bench/data/results.json';
const SECTIONS = ['post', 'shared', 'consume', 'hot', 'servers', 'fanout', 'workqueue', 'quiet', 'cost', 'depth', 'coldstart'] as const;
type Section = (typeof SECTIONS)[number];
/** Sections that measure below HTTP (capacity, refused writes, round trips): the in-process stack only. */
const STACK_ONLY: readonly Section[] = ['hot', 'shared', 'servers', 'quiet', 'cost', 'depth'];
/** Producers of the runs spread over several server processes (issue 11 measured 16). */
const SERVER_PRODUCERS = 16;
/** The hot section's post run stops here at the latest (it normally ends when every producer has posted its batches). */
const HOT_CAP_SECONDS = 600;
/** How far past the last claim's and message's expiry the hot section's sweep looks. */
const HOT_SWEEP_SLACK_MS = 120_000;
/** Share of each depth held by live claims in the depth section. */
const DEPTH_CLAIMED_SHARE = 0.1;

const USAGE = `npm run bench -- [flags]
  --quick              short run (about 3 minutes on 2 cores): shorter load runs, fewer samples, depths up to 10,000
  --url URL            load an existing Zaqar v2 endpoint (default: start the local stack in-process);
                       the sections that look below HTTP (${STACK_ONLY.join(', ')}) need the local stack and are skipped
  --containers N       emulated Lambda containers per function of the in-process stack (default
                       ${DEFAULT_CONTAINERS}: each concurrent request in its own, as in AWS); 0: one shared handler
  --project ID         X-Project-ID to send (default: bench-<random>)
  --token TOKEN        X-Auth-Token to send (Keystone-protected endpoints)
  --header 'N: V'      any other header to send, repeatable (e.g. 'Authorization: Bearer <jwt>')
  --duration S         seconds per load scenario (default 10, quick 5)
  --producers LIST     producers posting to one queue (post section), e.g. 1,4,16,64; the shared
                       section repeats the runs up to 16 producers against one shared handler
  --hot-batches N      hot section: one producer per lane (${DEFAULT_LANES_PER_QUEUE}) posts N batches of 10 (default 4,
                       quick 2); the largest number of consumers drain the queue, then the sweeper's work
  --consumers LIST     consumers draining one queue's backlog (consume section), e.g. 1,8,32
  --consume-seconds S  most seconds per consume run: it ends earlier once the backlog is drained (default 60, quick 20)
  --backlog N          messages posted (by one producer) before each consume run (default 2000)
  --servers LIST       npm start processes sharing the DynamoDB that ${SERVER_PRODUCERS} producers are spread over
                       (servers section), e.g. 4,16 (default 4,16, quick 4)
  --work-producers N   producers in the work-queue scenarios (default 2)
  --work-consumers LIST  consumers in the work-queue scenarios (producers and consumers at once), e.g. 1,4,16
  --subscribers LIST   fan-out subscribers, e.g. 1,4,16
  --body BYTES         message body size (default 1024)
  --only LIST          sections: ${SECTIONS.join(',')}
  --render FILE        only re-render the report from saved results (bench/out/results.json, or
                       bench/data/results.json: those of the published page)
  --out FILE           report path (default docs/benchmarks.md for a complete local run, else bench/out/benchmarks.md)`;

interface Plan {
  readonly quick: boolean;
  readonly seconds: number;
  readonly producers: number[];
  /** Producers of the extra post runs with batches of 1. */
  readonly singlePosters: number[];
  readonly consumers: number[];
  /** Hot section: batches of 10 each of its producers (one per lane) posts. */
  readonly hotBatches: number;
  readonly consumeSeconds: number;
  readonly backlog: number;
  readonly servers: number[];
  readonly subscribers: number[];
  readonly workProducers: number;
  readonly workConsumers: number[];
  readonly bodyBytes: number;
  readonly quietSamples: number;
  readonly costSamples: number;
  readonly costBodies: number[];
  readonly depths: number[];
  readonly depthSamples: number;
  readonly coldRuns: number;
  readonly sections: Set<Section>;
}

const list = (v: string | undefined, fallback: number[]): number[] =>
  v === undefined ? fallback : v.split(',').map((x) => Number.parseInt(x, 10)).filter((x) => Number.isFinite(x) && x > 0);

function plan(values: Record<string, string | boolean | string[] | undefined>): Plan {
  const quick = values.quick === true;
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const only = str('only');
  const sections = new Set<Section>(only ? (only.split(',') as Section[]).filter((s) => SECTIONS.includes(s)) : SECTIONS);
  if (str('url')) for (const s of STACK_ONLY) sections.delete(s);
  const bodyBytes = list(str('body'), [1024])[0] ?? 1024;
  return {
    quick,
    seconds: Number(str('duration') ?? (quick ? 5 : 10)),
    producers: list(str('producers'), [1, 4, 16, 64]),
    singlePosters: quick ? [] : [1, 16],
    consumers: list(str('consumers'), [1, 8, 32]),
    hotBatches: list(str('hot-batches'), [quick ? 2 : 4])[0] ?? 4,
    consumeSeconds: Number(str('consume-seconds') ?? (quick ? 20 : 60)),
    backlog: list(str('backlog'), [2_000])[0] ?? 2_000,
    servers: list(str('servers'), quick ? [4] : [4, 16]),
    subscribers: list(str('subscribers'), quick ? [4] : [1, 4, 16]),
    workProducers: list(str('work-producers'), [2])[0] ?? 2,
    workConsumers: list(str('work-consumers'), quick ? [4] : [1, 4, 16]),
    bodyBytes,
    quietSamples: quick ? 3 : 10,
    costSamples: quick ? 10 : 40,
    costBodies: [bodyBytes, 100],
    depths: quick ? [10, 1_000, 10_000] : [10, 1_000, 20_000, 100_000],
    depthSamples: quick ? 5 : 20,
    coldRuns: quick ? 5 : 15,
    sections,
  };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function logResult(r: ScenarioResult): void {
  const rate = r.spec.kind === 'post' ? r.posted : r.spec.kind === 'fanout' ? r.delivered : r.consumed;
  const wasted = r.writes ? `, ${r.writes.refused}/${r.writes.writes} writes refused` : '';
  log(`[done] ${r.label}: ${rate.toFixed(0)} msgs/s, errors ${r.errors}${wasted}${r.firstError ? ` (first: ${r.firstError})` : ''}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      url: { type: 'string' },
      project: { type: 'string' },
      token: { type: 'string' },
      header: { type: 'string', multiple: true },
      duration: { type: 'string' },
      producers: { type: 'string' },
      consumers: { type: 'string' },
      backlog: { type: 'string' },
      'consume-seconds': { type: 'string' },
      'hot-batches': { type: 'string' },
      servers: { type: 'string' },
      subscribers: { type: 'string' },
      'work-producers': { type: 'string' },
      'work-consumers': { type: 'string' },
      body: { type: 'string' },
      only: { type: 'string' },
      containers: { type: 'string' },
      out: { type: 'string' },
      render: { type: 'string' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.render) {
    // Re-render a report (and its plots) from a saved results file, without measuring anything.
    const saved = JSON.parse(readFileSync(resolve(values.render), 'utf8')) as RunResults;
    await writeReport(saved, resolve(ROOT, values.out ?? 'bench/out/benchmarks.md'));
    return;
  }
  const p = plan(values);
  const began = performance.now();
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  // Only a complete run in the default (Lambda-faithful) mode rewrites the published report.
  const complete = !values.url && !values.only && values.containers === undefined;
  const outFile = resolve(ROOT, values.out ?? (complete ? PUBLISHED : 'bench/out/benchmarks.md'));

  const needsStack = !values.url && [...p.sections].some((s) => s !== 'coldstart');
  const containers = values.containers === undefined ? DEFAULT_CONTAINERS : Number(values.containers);
  if (!Number.isInteger(containers) || containers < 0) throw new Error(`--containers must be a whole number ≥ 0, got ${values.containers}`);
  const handlers = containers ? `each request in an emulated Lambda container (up to ${containers} per function, each with its own DynamoDB client, store and caches)` : 'one shared handler for all requests (--containers 0)';
  let stack: BenchStack | undefined;
  if (needsStack) {
    log(`[setup] starting DynamoDB Local (in memory) and the API in-process: ${handlers}`);
    stack = await startBenchStack({ containers });
  }
  const url = values.url ?? stack?.url ?? '';
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const i = h.indexOf(':');
    if (i > 0) headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  if (values.token) headers['X-Auth-Token'] = values.token;
  const target = { url, project: values.project ?? `bench-${randomUUID().slice(0, 8)}`, headers };
  const probe = stack ? { probe: stack.probe } : {};

  const load: ScenarioResult[] = [];
  const results: RunResults = {
    startedAt,
    mode: p.quick ? 'quick' : values.only || values.url || values.duration || values.containers ? 'custom' : 'full',
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    target: values.url ? values.url : `the API in-process (functions/local/stack.ts), ${handlers}, on DynamoDB Local in memory`,
    seconds: 0,
    loadAverage: { start: loadavg()[0] ?? 0, end: 0 },
    load,
    cost: [],
    depth: [],
    coldStart: [],
    lanesPerQueue: DEFAULT_LANES_PER_QUEUE,
  };
  const base = { seconds: p.seconds, bodyBytes: p.bodyBytes };
  try {
    if (p.sections.has('post') || p.sections.has('consume') || p.sections.has('fanout') || p.sections.has('workqueue')) {
      // The JVM behind DynamoDB Local (and V8) compile hot paths during the first seconds: not measured.
      log('[warm-up] short work-queue run, not reported');
      await runScenario(target, { kind: 'workqueue', producers: 2, consumers: 2, batch: 10, seconds: p.quick ? 3 : 8, bodyBytes: p.bodyBytes });
    }
    if (p.sections.has('post')) {
      for (const producers of p.producers) {
        const r = await runScenario(target, { kind: 'post', producers, consumers: 0, batch: 10, ...base }, probe);
        load.push(r);
        logResult(r);
      }
    }
    if (stack && p.sections.has('hot')) {
      // One producer per lane, each posting the same number of batches: every lane carries the same
      // load, as equally busy producers in AWS (each in its own container) would give it. The queue
      // stays for the consumers and the sweeper.
      const spec: ScenarioSpec = { kind: 'post', producers: DEFAULT_LANES_PER_QUEUE, consumers: 0, batch: 10, batchesEach: p.hotBatches, bindFirst: true, seconds: HOT_CAP_SECONDS, bodyBytes: p.bodyBytes };
      const r = await runScenario(target, spec, { ...probe, keepQueue: true });
      load.push(r);
      logResult(r);
      await drainWide(stack, target, r, p, results, load);
    }
    if (stack && p.sections.has('shared')) {
      // The same posts against one shared handler: one store and one DynamoDB client for every request.
      const shared = await stack.startShared();
      try {
        for (const producers of p.producers.filter((n) => n <= SERVER_PRODUCERS)) {
          const r = await runScenario({ ...target, url: shared.url }, { kind: 'post', producers, consumers: 0, batch: 10, sharedStore: true, ...base }, probe);
          load.push(r);
          logResult(r);
        }
      } finally {
        await shared.stop();
      }
    }
    if (p.sections.has('consume')) {
      for (const consumers of p.consumers) {
        log(`[consume] loading a backlog of ${p.backlog} messages for ${consumers} consumer(s)`);
        const r = await runScenario(target, { kind: 'consume', producers: 0, consumers, batch: 10, backlog: p.backlog, ...base, seconds: p.consumeSeconds }, probe);
        load.push(r);
        logResult(r);
      }
    }
    if (stack && p.sections.has('servers')) await spreadOverServers(stack, target, p, load);
    const others: ScenarioSpec[] = [];
    if (p.sections.has('post')) for (const producers of p.singlePosters) others.push({ kind: 'post', producers, consumers: 0, batch: 1, ...base });
    if (p.sections.has('fanout')) for (const k of p.subscribers) others.push({ kind: 'fanout', producers: 2, consumers: k, batch: 10, ...base });
    if (p.sections.has('workqueue')) for (const c of p.workConsumers) others.push({ kind: 'workqueue', producers: p.workProducers, consumers: c, batch: 10, ...base });
    for (const spec of others) {
      const r = await runScenario(target, spec, probe);
      load.push(r);
      logResult(r);
    }
    if (stack && (p.sections.has('quiet') || p.sections.has('cost') || p.sections.has('depth'))) {
      const meterOff = stack.meterOn();
      try {
        if (p.sections.has('quiet')) {
          log(`[quiet] ${p.quietSamples} samples of each request on a queue of 10 messages`);
          Object.assign(results, { quiet: await measureQuiet(stack, p.quietSamples, p.bodyBytes) });
          if (existsSync(QUIET_BEFORE)) Object.assign(results, { quietBefore: JSON.parse(readFileSync(QUIET_BEFORE, 'utf8')) as QuietData });
        }
        if (p.sections.has('cost')) {
          const cost = [];
          for (const body of p.costBodies) {
            log(`[cost] body ≈ ${body} B, ${p.costSamples} samples per operation`);
            cost.push(await measureCost(stack, body, p.costSamples));
          }
          Object.assign(results, { cost });
        }
        if (p.sections.has('depth')) {
          const depth = await measureDepth(stack, { depths: p.depths, claimedShare: DEPTH_CLAIMED_SHARE, samples: p.depthSamples, bodyBytes: p.bodyBytes, log });
          Object.assign(results, { depth });
        }
      } finally {
        meterOff();
      }
    }
  } finally {
    await stack?.stop();
  }
  if (p.sections.has('coldstart')) Object.assign(results, { coldStart: await measureColdStart(p.coldRuns, log) });
  Object.assign(results, { seconds: (performance.now() - began) / 1000, loadAverage: { ...results.loadAverage, end: loadavg()[0] ?? 0 } });

  mkdirSync(resolve(ROOT, 'bench/out'), { recursive: true });
  writeFileSync(resolve(ROOT, 'bench/out/results.json'), JSON.stringify(results, null, 2));
  // The published page's results are kept with it, so it can be re-rendered (e.g. after a merge) without measuring.
  if (outFile === resolve(ROOT, PUBLISHED)) writeFileSync(resolve(ROOT, PUBLISHED_RESULTS), `${JSON.stringify(results, null, 2)}\n`);
  await writeReport(results, outFile);
  log(`[report] ${relative(ROOT, outFile)} written in ${results.seconds.toFixed(0)} s`);
}

/**
 * The hot section, on the queue its post run filled (its messages spread over one lane per
 * producer): stats with that many lanes in use, then the largest number of consumers drain it, then
 * the sweeper's later work on its records (bench/sweep.ts), so the write units per partition key
 * cover a message's whole life on a busy queue.
 */
async function drainWide(
  stack: BenchStack,
  target: { url: string; project: string; headers: Record<string, string> },
  post: ScenarioResult & { queue: string },
  p: Plan,
  results: RunResults,
  load: ScenarioResult[],
): Promise<void> {
  const meterOff = stack.meterOn();
  try {
    const client = new ZaqarClient({ ...target, retries: SETUP_RETRIES });
    const depth = post.postedMessages + (post.boundMessages ?? 0);
    const stats = await measureStats(stack, client, post.queue, p.depthSamples, { total: depth, claimed: 0 });
    // Producers are bound to lanes round-robin: one lane each, up to the queue's lane count.
    const lanes = Math.min(post.spec.producers, DEFAULT_LANES_PER_QUEUE);
    Object.assign(results, { wideStats: { depth, lanes, liveClaimed: 0, stats: stats.cost, statsExact: stats.exact } });
  } finally {
    meterOff();
  }
  const consumers = Math.max(...p.consumers);
  // Until the queue is empty: a message left behind would expire and be deleted by the sweeper, a
  // different life than the one measured.
  const spec: ScenarioSpec = { kind: 'consume', producers: 0, consumers, batch: 10, drains: post.label, seconds: HOT_CAP_SECONDS, bodyBytes: p.bodyBytes };
  const r = await runScenario(target, spec, { probe: stack.probe, queue: { name: post.queue, backlog: post.postedMessages + (post.boundMessages ?? 0) }, keepQueue: true });
  load.push(r);
  logResult(r);
  log(`[hot] the sweeper's later work on ${post.queue}`);
  const before = stack.probe.snapshot();
  const swept = await sweepQueueAhead(stack, { project: target.project, queue: post.queue }, (BENCH_MESSAGE_TTL + BENCH_CLAIM_TTL) * 1000 + HOT_SWEEP_SLACK_MS);
  const keys = Object.fromEntries(probeDiff(stack.probe.snapshot(), before).keys);
  await new ZaqarClient({ ...target, retries: SETUP_RETRIES }).deleteQueue(post.queue).catch(() => undefined);
  Object.assign(results, { hot: { post: post.label, consume: r.label, sweep: { records: swept.records, keys } } });
}

/**
 * The servers section: `npm start` processes sharing the stack's DynamoDB Local (DYNAMODB_ENDPOINT),
 * each in the Lambda-faithful mode. One producer against one of them first (the baseline), then
 * SERVER_PRODUCERS producers spread round-robin over N of them.
 */
async function spreadOverServers(stack: BenchStack, target: { url: string; project: string; headers: Record<string, string> }, p: Plan, load: ScenarioResult[]): Promise<void> {
  const most = Math.max(...p.servers);
  log(`[servers] starting ${most} npm start processes on DynamoDB Local at ${stack.local.dynamoEndpoint}`);
  const servers = await startServers(most, { dynamoEndpoint: stack.local.dynamoEndpoint, tableName: stack.tableName, containers: DEFAULT_CONTAINERS });
  try {
    const urls = servers.map((s) => s.url);
    const base = { kind: 'post', consumers: 0, batch: 10, seconds: p.seconds, bodyBytes: p.bodyBytes } as const;
    const runs: { producers: number; servers: number }[] = [{ producers: 1, servers: 1 }, ...p.servers.map((n) => ({ producers: SERVER_PRODUCERS, servers: n }))];
    for (const run of runs) {
      const r = await runScenario({ ...target, url: urls[0] ?? target.url }, { ...base, producers: run.producers, servers: run.servers }, { urls: urls.slice(0, run.servers) });
      load.push(r);
      logResult(r);
    }
  } finally {
    await stopServers(servers);
  }
}

/** Writes the report and its plots (next to it). */
async function writeReport(results: RunResults, outFile: string): Promise<void> {
  mkdirSync(dirname(outFile), { recursive: true });
  const svgs: { throughput?: string; depth?: string } = {};
  const plot = async (name: string, svg: Promise<string>) => {
    const file = resolve(dirname(outFile), name);
    writeFileSync(file, await svg);
    return relative(dirname(outFile), file);
  };
  if (results.load.some((r) => r.spec.kind === 'workqueue')) svgs.throughput = await plot('bench-throughput.svg', renderSvg(throughputSpec(results.load)));
  if (results.depth.length > 0) svgs.depth = await plot('bench-depth.svg', renderSvg(depthSpec(results.depth)));
  // Sections others add to the page (subscriptions, long polling, …) are kept, not overwritten.
  const existing = existsSync(outFile) ? readFileSync(outFile, 'utf8') : undefined;
  writeFileSync(outFile, mergeReport(renderReport(results, svgs), existing));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
