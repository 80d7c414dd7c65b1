/**
 * The quiet-queue measurement (bench/quiet.ts) on its own: starts the local stack of the checkout it
 * runs in (in-process, DynamoDB Local in memory), meters and times every DynamoDB client the stack
 * builds, and writes the figures as JSON. bench/before/measure.sh copies this file, quiet.ts and
 * waves.ts into a checkout of the code before the lanes redesign and runs it there: that code
 * cannot be rerun by `npm run bench`, so its figures are kept as data (bench/data/quiet-before.json).
 *
 *   npx tsx bench/before/quiet.ts --out FILE [--samples N] [--label TEXT]
 *
 * NOTE: only uses what the checkout before the redesign already had (startLocalStack with
 * decorateClient, the capacity meter, the bench's HTTP client).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { startLocalStack } from '../../functions/local/stack.js';
import { attachCapacityMeter, CapacityMeter } from '../../functions/store/dynamo/metrics.js';
import { measureQuiet, type QuietResult } from '../quiet.js';
import { attachCallLog, CallLog } from '../waves.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** What bench/data/quiet-before.json holds. */
export interface QuietData {
  readonly commit: string;
  readonly label: string;
  readonly measuredAt: string;
  readonly command: string;
  readonly machine: string;
  readonly result: QuietResult;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, samples: { type: 'string' }, label: { type: 'string' } } });
  if (!values.out) throw new Error('--out FILE is required');
  const meter = new CapacityMeter();
  const calls = new CallLog();
  const local = await startLocalStack({
    tableName: 'quiet',
    decorateClient: (client) => {
      attachCapacityMeter(client, meter, { estimateTransactions: true });
      attachCallLog(client, calls);
    },
    logRequest: () => undefined,
    logger: { info: () => undefined, error: (message, details) => console.error(message, details) },
  });
  try {
    const samples = Number(values.samples ?? 10);
    const result = await measureQuiet({ url: local.url, meter, calls }, samples);
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const data: QuietData = {
      commit,
      label: values.label ?? commit.slice(0, 7),
      measuredAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      command: `npx tsx bench/before/quiet.ts --samples ${samples} (in a checkout of ${commit.slice(0, 7)}, see bench/before/measure.sh)`,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node.js ${process.versions.node}`,
      result,
    };
    writeFileSync(values.out, `${JSON.stringify(data, null, 2)}\n`);
    for (const r of result.rows) console.log(`${r.op}: ${r.read.toFixed(2)} RRU, ${r.write.toFixed(2)} WRU, ${r.calls} calls, ${r.waves} waves (${r.shape})`);
  } finally {
    await local.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
