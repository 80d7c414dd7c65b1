/**
 * Several `npm start` servers (bin/local.ts, each its own Node process with its own emulated Lambda
 * containers) sharing one DynamoDB through DYNAMODB_ENDPOINT, as several API processes share one
 * table: what one queue takes when its clients are spread over processes that share nothing but
 * the database. The processes are not probed (their DynamoDB clients live in other processes), so
 * only what HTTP shows is measured: messages per second and failed posts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
/** How long a server may take to start (tsx compiles the sources on a loaded machine). */
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;
const LISTENING = /listening on (http:\/\/\S+)/;

export interface ServerProcess {
  readonly url: string;
  stop(): Promise<void>;
}

export interface ServerOptions {
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  /** LAMBDA_CONTAINERS of each server (0: one shared handler). */
  readonly containers: number;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done();
    }, STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Starts one server on a free port; resolves once it listens. */
function startServer(options: ServerOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DYNAMODB_ENDPOINT: options.dynamoEndpoint,
      TABLE_NAME: options.tableName,
      PORT: '0',
      // The sweeper would add its own load to the shared database: not what is measured.
      SWEEP_INTERVAL_SECONDS: '0',
      // Nor a stream reader (its lease and checkpoint writes), as in the in-process bench stack.
      DELIVERY: 'off',
      LAMBDA_CONTAINERS: String(options.containers),
      DATA_DIR: '',
      IN_MEMORY: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((ready, fail) => {
    let out = '';
    let errors = '';
    const timer = setTimeout(() => {
      void stopChild(child);
      fail(new Error(`server did not start within ${START_TIMEOUT_MS / 1000} s: ${errors.slice(-500)}`));
    }, START_TIMEOUT_MS);
    // Each request logs a line: keep reading so the pipe never fills, keep only the start.
    child.stdout?.on('data', (chunk: Buffer) => {
      if (out.length > 4_096) return;
      out += chunk.toString();
      const url = LISTENING.exec(out)?.[1];
      if (url) {
        clearTimeout(timer);
        ready({ url, stop: () => stopChild(child) });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      errors = (errors + chunk.toString()).slice(-4_096);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`server exited with ${code} before listening: ${errors.slice(-500)}`));
    });
  });
}

/** Starts `count` servers at once; if one fails, stops the others. */
export async function startServers(count: number, options: ServerOptions): Promise<ServerProcess[]> {
  const started = await Promise.allSettled(Array.from({ length: count }, () => startServer(options)));
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stopServers(servers);
    throw failed.reason;
  }
  return servers;
}

export async function stopServers(servers: readonly ServerProcess[]): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
}
