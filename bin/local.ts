/**
 * `npm start`: the full Cloud Queues API on http://127.0.0.1:8888 against an embedded DynamoDB Local
 * (or an existing DynamoDB: DYNAMODB_ENDPOINT), each request served in an emulated Lambda container.
 * Env: PORT, HOST, DATA_DIR (default .data/), IN_MEMORY=1, TABLE_NAME, SWEEP_INTERVAL_SECONDS,
 * DYNAMODB_ENDPOINT, LAMBDA_CONTAINERS, LAMBDA_WAIT_MS, LANES_PER_QUEUE, DELIVERY (see README).
 */
import { JAVA_HINT, javaAvailable } from '../functions/local/dynamodb-local.js';
import { DEFAULT_CONTAINERS, startLocalStack } from '../functions/local/stack.js';
import { LANES_ENV } from '../functions/entry/env.js';
import { parseLanesPerQueue } from '../functions/store/dynamo/schema.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const DEFAULT_SWEEP_INTERVAL_SECONDS = 60;

/** A whole number ≥ 0 from the environment, or `fallback` when unset; exits with a message otherwise. */
function countFromEnv(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`${name} must be a whole number ≥ 0, got "${raw}"`);
    process.exit(1);
  }
  return value;
}

async function main(): Promise<void> {
  const endpoint = process.env.DYNAMODB_ENDPOINT || undefined;
  const inMemory = process.env.IN_MEMORY === '1' || process.argv.includes('--in-memory');
  if (endpoint && (inMemory || process.env.DATA_DIR)) {
    // Where the data lives is the existing database's business: refuse rather than ignore the setting.
    console.error('DATA_DIR and IN_MEMORY configure the embedded DynamoDB Local: unset them with DYNAMODB_ENDPOINT');
    process.exit(1);
  }
  if (!endpoint && !javaAvailable()) {
    console.error(JAVA_HINT);
    process.exit(1);
  }
  const dataDir = endpoint || inMemory ? undefined : (process.env.DATA_DIR ?? '.data');
  const containers = countFromEnv('LAMBDA_CONTAINERS', DEFAULT_CONTAINERS);
  const containerWaitMs = countFromEnv('LAMBDA_WAIT_MS', undefined);
  if (!containers && containerWaitMs !== undefined) {
    console.error('LAMBDA_WAIT_MS applies to the emulated containers: unset it with LAMBDA_CONTAINERS=0');
    process.exit(1);
  }
  // DELIVERY=off: this server does not read the table's stream nor push to subscribers (another
  // server sharing the database may); its table, if it creates it, gets no stream.
  const delivery = process.env.DELIVERY ?? 'on';
  if (delivery !== 'on' && delivery !== 'off') {
    console.error(`DELIVERY must be on or off, got "${delivery}"`);
    process.exit(1);
  }
  let lanesPerQueue: number | undefined;
  try {
    lanesPerQueue = parseLanesPerQueue(process.env[LANES_ENV], LANES_ENV);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
  const stack = await startLocalStack({
    host: process.env.HOST ?? '127.0.0.1',
    port: Number(process.env.PORT ?? 8888),
    ...(endpoint ? { dynamoEndpoint: endpoint } : {}),
    ...(dataDir ? { dataDir } : {}),
    ...(process.env.TABLE_NAME ? { tableName: process.env.TABLE_NAME } : {}),
    ...(containers ? { containers } : {}),
    ...(containerWaitMs !== undefined ? { containerWaitMs } : {}),
    ...(lanesPerQueue !== undefined ? { lanesPerQueue } : {}),
    ...(delivery === 'off' ? { notifications: { deliver: false } } : {}),
    // Like the deployed schedule (every minute); SWEEP_INTERVAL_SECONDS=0 turns it off.
    sweepIntervalMs: Number(process.env.SWEEP_INTERVAL_SECONDS ?? DEFAULT_SWEEP_INTERVAL_SECONDS) * 1000,
  });
  const database = endpoint
    ? `DynamoDB at ${stack.dynamoEndpoint}, table ${stack.tableName}`
    : `DynamoDB Local at ${stack.dynamoEndpoint}, ` + (dataDir ? `data in ${dataDir}/` : 'in memory');
  const handlers = containers ? `up to ${containers} emulated Lambda containers per function` : 'one shared in-process handler';
  const push = delivery === 'off' ? '; push delivery off' : '';
  console.log(`Cloud Queues (Zaqar v2) listening on ${stack.url} — ${database}; ${handlers}${push}`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping${stack.dynamo ? ' (DynamoDB Local too)' : ''}`);
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // NOTE: `kill <npm pid>` does not reach us (npm does not forward SIGTERM through its shell):
  // when started by `npm start`, stop as soon as npm is gone rather than linger as an orphan.
  if (process.env.npm_lifecycle_event === 'start') {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) shutdown('parent exited');
    }, 500).unref();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
