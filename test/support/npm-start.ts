/**
 * The real `npm start` program (bin/local.ts) as a child process, for tests that need a separate
 * server process: it runs in its own process group, so one kill reaches its DynamoDB Local too.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const START_TIMEOUT_MS = 90_000;

/**
 * Starts `tsx bin/local.ts` with `env` over this process's environment (minus DYNAMODB_ENDPOINT,
 * which the test run may set for itself: a server gets one only when `env` says so); resolves
 * with the child and its startup output once it listens, rejects if it exits first.
 */
export async function startLocalProcess(env: Record<string, string>): Promise<{ child: ChildProcess; output: string }> {
  const { DYNAMODB_ENDPOINT: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'bin/local.ts'], {
    cwd: process.cwd(),
    env: { ...inherited, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    detached: true, // its own process group, so one kill reaches DynamoDB Local too
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output.slice(-2000)}`)), START_TIMEOUT_MS);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}):\n${output.slice(-2000)}`));
    });
  });
  child.removeAllListeners('exit');
  return { child, output };
}

/** True while any process of the group led by `pid` lives. */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILLs the whole process group led by `pid` and waits (up to 10 s) until it is gone. */
export async function killGroup(pid: number): Promise<void> {
  process.kill(-pid, 'SIGKILL');
  for (let i = 0; i < 100 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}
