/**
 * `npm start`: the full Cloud Queues API on http://127.0.0.1:8888 against an embedded DynamoDB Local.
 * Env: PORT, HOST, DATA_DIR (default .data/), IN_MEMORY=1, TABLE_NAME, SWEEP_INTERVAL_SECONDS.
 */
import { JAVA_HINT, javaAvailable } from '../functions/local/dynamodb-local.js';
import { startLocalStack } from '../functions/local/stack.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const DEFAULT_SWEEP_INTERVAL_SECONDS = 60;

async function main(): Promise<void> {
  if (!javaAvailable()) {
    console.error(JAVA_HINT);
    process.exit(1);
  }
  const inMemory = process.env.IN_MEMORY === '1' || process.argv.includes('--in-memory');
  const dataDir = inMemory ? undefined : (process.env.DATA_DIR ?? '.data');
  const stack = await startLocalStack({
    host: process.env.HOST ?? '127.0.0.1',
    port: Number(process.env.PORT ?? 8888),
    ...(dataDir ? { dataDir } : {}),
    ...(process.env.TABLE_NAME ? { tableName: process.env.TABLE_NAME } : {}),
    // Like the deployed schedule (every minute); SWEEP_INTERVAL_SECONDS=0 turns it off.
    sweepIntervalMs: Number(process.env.SWEEP_INTERVAL_SECONDS ?? DEFAULT_SWEEP_INTERVAL_SECONDS) * 1000,
  });
  console.log(
    `Cloud Queues (Zaqar v2) listening on ${stack.url} — DynamoDB Local at ${stack.dynamoEndpoint}, ` +
      (dataDir ? `data in ${dataDir}/` : 'in memory'),
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping (DynamoDB Local too)`);
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
