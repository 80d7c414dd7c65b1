/**
 * `npm run bench [-- flags]`: load, cost, scale and cold-start benchmarks; writes
 * docs/benchmarks.md and its SVG plots (or, with --url or --only, bench/out/ so a partial
 * run never overwrites the published tables). Flags: see USAGE.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONTAINERS } from '../functions/local/stack.js';
import { measureColdStart } from './coldstart.js';
import { measureCost } from './cost.js';
import { runScenario, type ScenarioResult, type ScenarioSpec } from './load.js';
import { claimCostSpec, renderSvg, throughputSpec } from './plot.js';
import { renderReport, type RunResults } from './report.js';
import { measureClaimScale } from './scale.js';
import { startBenchStack, type BenchStack } from './stack.js';
import { keepSections } from './sections.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ROOT = resolve(import.meta.dirname, '..');
const SECTIONS = ['post', 'fanout', 'workqueue', 'cost', 'scale', 'coldstart'] as const;
type Section = (typeof SECTIONS)[number];

const USAGE = `npm run bench -- [flags]
  --quick              short run (< 3 minutes on 2 cores): fewer scenarios, 6 s each, depths up to 10,000
  --url URL            load an existing Zaqar v2 endpoint (default: start the local stack in-process);
                       cost and scale need the in-process stack and are skipped
  --containers N       emulated Lambda containers per function of the in-process stack (default
                       ${DEFAULT_CONTAINERS}: each concurrent request in its own, as in AWS); 0: one shared handler
  --project ID         X-Project-ID to send (default: bench-<random>)
  --token TOKEN        X-Auth-Token to send (Keystone-protected endpoints)
  --header 'N: V'      any other header to send, repeatable (e.g. 'Authorization: Bearer <jwt>')
  --duration S         seconds per load scenario (default 20, quick 6)
  --producers LIST     post scenario producers, e.g. 1,4,16 (fan-out always uses 2)
  --work-producers N   producers in the work-queue scenarios (default 2)
  --consumers LIST     work-queue consumers, e.g. 1,2,4,8,16
  --subscribers LIST   fan-out subscribers, e.g. 1,4,16
  --body BYTES         message body size (default 1024)
  --only LIST          sections: ${SECTIONS.join(',')}
  --render FILE        only re-render the report from a saved bench/out/results.json
  --out FILE           report path (default docs/benchmarks.md for a complete local run, else bench/out/benchmarks.md)`;

interface Plan {
  readonly quick: boolean;
  readonly seconds: number;
  readonly producers: number[];
  readonly consumers: number[];
  readonly subscribers: number[];
  readonly workProducers: number;
  readonly bodyBytes: number;
  readonly costSamples: number;
  readonly costBodies: number[];
  readonly depths: number[];
  readonly liveClaims: number[];
  readonly scaleSamples: number;
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
  if (str('url')) {
    sections.delete('cost');
    sections.delete('scale');
  }
  const bodyBytes = list(str('body'), [1024])[0] ?? 1024;
  return {
    quick,
    seconds: Number(str('duration') ?? (quick ? 6 : 20)),
    producers: list(str('producers'), quick ? [4] : [1, 4, 16]),
    consumers: list(str('consumers'), quick ? [1, 4, 8] : [1, 2, 4, 8, 16]),
    subscribers: list(str('subscribers'), quick ? [4] : [1, 4, 16]),
    workProducers: list(str('work-producers'), [2])[0] ?? 2,
    bodyBytes,
    costSamples: quick ? 10 : 40,
    costBodies: [bodyBytes, 100],
    depths: quick ? [10, 1_000, 10_000] : [10, 1_000, 10_000, 100_000],
    liveClaims: quick ? [0, 1_000] : [0, 1_000, 10_000],
    scaleSamples: quick ? 5 : 20,
    coldRuns: quick ? 5 : 15,
    sections,
  };
}

/** The load scenarios of a plan, in run order. */
function scenarios(p: Plan): ScenarioSpec[] {
  const base = { seconds: p.seconds, bodyBytes: p.bodyBytes };
  const specs: ScenarioSpec[] = [];
  // Few producers in the work queue: they share the machine's two cores with the consumers.
  const queueProducers = p.workProducers;
  if (p.sections.has('post')) {
    for (const batch of [1, 10]) for (const producers of p.producers) specs.push({ kind: 'post', producers, consumers: 0, batch, ...base });
  }
  if (p.sections.has('fanout')) {
    for (const k of p.subscribers) specs.push({ kind: 'fanout', producers: 2, consumers: k, batch: 10, ...base });
  }
  if (p.sections.has('workqueue')) {
    for (const c of p.consumers) specs.push({ kind: 'workqueue', producers: queueProducers, consumers: c, batch: 10, ...base });
  }
  return specs;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

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
      subscribers: { type: 'string' },
      'work-producers': { type: 'string' },
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
  const outFile = resolve(ROOT, values.out ?? (complete ? 'docs/benchmarks.md' : 'bench/out/benchmarks.md'));

  const needsStack = !values.url && [...p.sections].some((s) => s !== 'coldstart');
  const containers = values.containers === undefined ? DEFAULT_CONTAINERS : Number(values.containers);
  if (!Number.isInteger(containers) || containers < 0) throw new Error(`--containers must be a whole number ≥ 0, got ${values.containers}`);
  const handlers = containers ? `up to ${containers} emulated Lambda containers per function` : 'one shared handler';
  let stack: BenchStack | undefined;
  if (needsStack) {
    log(`[setup] starting DynamoDB Local (in memory) and the API in-process (${handlers})`);
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

  const load: ScenarioResult[] = [];
  const results: RunResults = {
    startedAt,
    mode: p.quick ? 'quick' : values.only || values.url || values.duration || values.containers ? 'custom' : 'full',
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    target: values.url ? values.url : `in-process local stack (functions/local/stack.ts, ${handlers}) on DynamoDB Local, in memory`,
    seconds: 0,
    loadAverage: { start: loadavg()[0] ?? 0, end: 0 },
    load,
    cost: [],
    scale: [],
    coldStart: [],
  };
  try {
    const specs = scenarios(p);
    if (specs.length > 0) {
      // The JVM behind DynamoDB Local (and V8) compile hot paths during the first seconds: not measured.
      log('[warm-up] short work-queue run, not reported');
      await runScenario(target, { kind: 'workqueue', producers: 2, consumers: 2, batch: 10, seconds: p.quick ? 3 : 8, bodyBytes: p.bodyBytes });
    }
    for (const spec of specs) {
      const r = await runScenario(target, spec);
      load.push(r);
      const rate = spec.kind === 'post' ? r.posted : spec.kind === 'workqueue' ? r.consumed : r.delivered;
      log(`[done] ${r.label}: ${rate.toFixed(0)} msgs/s, errors ${r.errors}${r.firstError ? ` (first: ${r.firstError})` : ''}`);
    }
    if (stack && (p.sections.has('cost') || p.sections.has('scale'))) {
      const meterOff = stack.meterOn();
      try {
        if (p.sections.has('cost')) {
          const cost = [];
          for (const body of p.costBodies) {
            log(`[cost] body ≈ ${body} B, ${p.costSamples} samples per operation`);
            cost.push(await measureCost(stack, body, p.costSamples));
          }
          Object.assign(results, { cost });
        }
        if (p.sections.has('scale')) {
          const scale = await measureClaimScale(stack, {
            depths: p.depths,
            liveClaims: p.liveClaims,
            samples: p.scaleSamples,
            bodyBytes: p.bodyBytes,
            log,
          });
          Object.assign(results, { scale });
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
  await writeReport(results, outFile);
  log(`[report] ${relative(ROOT, outFile)} written in ${results.seconds.toFixed(0)} s`);
}

/** Writes the report and its plots (next to it). */
async function writeReport(results: RunResults, outFile: string): Promise<void> {
  mkdirSync(dirname(outFile), { recursive: true });
  const svgs: { throughput?: string; claimCost?: string } = {};
  const plot = async (name: string, svg: Promise<string>) => {
    const file = resolve(dirname(outFile), name);
    writeFileSync(file, await svg);
    return relative(dirname(outFile), file);
  };
  if (results.load.some((r) => r.spec.kind === 'workqueue')) svgs.throughput = await plot('bench-throughput.svg', renderSvg(throughputSpec(results.load)));
  if (results.scale.length > 0) svgs.claimCost = await plot('bench-claim-cost.svg', renderSvg(claimCostSpec(results.scale)));
  // Sections other bench scripts write (bench/sections.ts) stay on the page.
  const previous = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
  writeFileSync(outFile, keepSections(previous, renderReport(results, svgs)));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
