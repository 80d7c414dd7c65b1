/**
 * `npm start`: the full Cloud Queues API on http://127.0.0.1:8888 against an embedded DynamoDB Local.
 * Env: PORT, HOST, DATA_DIR (default .data/), IN_MEMORY=1, TABLE_NAME, SWEEP_INTERVAL_SECONDS.
 */
import { JAVA_HINT, javaAvailable } from '../functions/local/dynamodb-local.js';
import { startLocalStack } from '../functions/local/stack.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

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
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
