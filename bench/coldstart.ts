/**
 * Cold start: bundle every Lambda entry point the way a deployment would (esbuild, minified
 * ESM for Node 20, AWS SDK included), report its size and what dominates it (metafile), and
 * time a cold import of each bundle in a fresh Node process, next to the floor: a bundle that
 * only imports the DynamoDB client and middy core. All bundles are timed in the same run,
 * interleaved, so machine noise hits them alike.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { summarize, type LatencySummary } from './stats.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const OUT_DIR = resolve(ROOT, 'bench/out/bundles');

export interface BundleSpec {
  readonly name: string;
  /** Source of a one-line entry module (resolved from the repository root). */
  readonly source: string;
}

export interface BundleResult {
  readonly name: string;
  readonly bytes: number;
  /** Output bytes per package ("own code" for this repository's files), largest first. */
  readonly byPackage: readonly { readonly name: string; readonly bytes: number }[];
  /** Time of `await import(bundle)` in a fresh process (ms). */
  readonly importMs: LatencySummary;
  /** Process start to bundle loaded (ms): Node's own start-up plus the import. */
  readonly totalMs: LatencySummary;
}

const FLOOR: BundleSpec = {
  name: 'floor: @aws-sdk/client-dynamodb + @middy/core',
  source:
    "import { DynamoDBClient } from '@aws-sdk/client-dynamodb'; import middy from '@middy/core';" +
    'export const handler = middy(async () => ({})); export const Client = DynamoDBClient;',
};

/** The Lambda entry points present in this checkout: one per API function group, plus the sweeper. */
export function lambdaEntries(): BundleSpec[] {
  const specs: BundleSpec[] = [];
  if (existsSync(resolve(ROOT, 'functions/entry/api.ts'))) {
    for (const group of ['system', 'queues', 'messages', 'claims', 'fallback']) {
      specs.push({ name: `api.${group}`, source: `export { ${group} as handler } from './functions/entry/api.js';` });
    }
  } else {
    // Stand-in until the entry module exists: the whole HTTP app over the DynamoDB store.
    specs.push({
      name: 'api (stand-in: http/app + store)',
      source:
        "export { createApi } from './functions/http/app.js'; export { DynamoStore } from './functions/store/dynamo/store.js';" +
        "export { createDocumentClient } from './functions/store/dynamo/client.js';",
    });
  }
  if (existsSync(resolve(ROOT, 'functions/entry/sweeper.ts'))) {
    specs.push({ name: 'sweeper', source: "export { handler } from './functions/entry/sweeper.js';" });
  }
  return specs;
}

/** The package an input file belongs to ("own code" outside node_modules). */
export function packageOf(path: string): string {
  const i = path.lastIndexOf('node_modules/');
  if (i < 0) return 'own code';
  const parts = path.slice(i + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? path);
}

/** Output bytes per package, largest first. */
export function bytesByPackage(metafile: Metafile): { name: string; bytes: number }[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const pkg = packageOf(path);
      totals.set(pkg, (totals.get(pkg) ?? 0) + input.bytesInOutput);
    }
  }
  return [...totals].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

async function bundle(spec: BundleSpec, file: string): Promise<{ bytes: number; byPackage: { name: string; bytes: number }[] }> {
  const result = await build({
    stdin: { contents: spec.source, resolveDir: ROOT, sourcefile: `${spec.name}.ts`, loader: 'ts' },
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    metafile: true,
    legalComments: 'none',
    mainFields: ['module', 'main'],
    // CommonJS dependencies inside an ESM bundle still call require().
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'error',
  });
  const bytes = Object.values(result.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
  return { bytes, byPackage: bytesByPackage(result.metafile) };
}

/** One cold import in a fresh process: the import's own time, and process start to loaded. */
async function coldImport(file: string): Promise<{ importMs: number; totalMs: number }> {
  const code =
    `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)});` +
    'console.log(JSON.stringify({ importMs: performance.now() - t, totalMs: performance.now() }));';
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { importMs: number; totalMs: number };
}

/** Bundles every entry plus the floor, then imports each `runs` times, round-robin. */
export async function measureColdStart(runs: number, log: (line: string) => void): Promise<BundleResult[]> {
  mkdirSync(OUT_DIR, { recursive: true });
  const specs = [FLOOR, ...lambdaEntries()];
  const built = [];
  for (const [i, spec] of specs.entries()) {
    const file = resolve(OUT_DIR, `bundle-${i}.mjs`);
    built.push({ spec, file, ...(await bundle(spec, file)) });
  }
  log(`[cold start] ${built.length} bundles built; ${runs} cold imports each`);
  const samples = built.map(() => ({ importMs: [] as number[], totalMs: [] as number[] }));
  // One warm-up pass so the first bundle does not pay for a cold file cache alone.
  for (const b of built) await coldImport(b.file);
  for (let r = 0; r < runs; r++) {
    for (const [i, b] of built.entries()) {
      const s = await coldImport(b.file);
      samples[i]?.importMs.push(s.importMs);
      samples[i]?.totalMs.push(s.totalMs);
    }
  }
  return built.map((b, i) => ({
    name: b.spec.name,
    bytes: b.bytes,
    byPackage: b.byPackage,
    importMs: summarize(samples[i]?.importMs ?? []),
    totalMs: summarize(samples[i]?.totalMs ?? []),
  }));
}
