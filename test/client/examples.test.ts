/**
 * The README's examples run as written (from the repository, `@cloud-queues/client` resolves to
 * client/src through tsconfig paths): the producer posts and lists, and the five-line worker
 * handles every message, then exits cleanly on SIGTERM with nothing left behind.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { projectId, QueuesClient } from '../../client/src/index.js';
import { startTestStack, type TestStack } from '../support/stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const example = (name: string) => readFileSync(`${ROOT}client/examples/${name}`, 'utf8');

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack.stop());

/** Runs an example with tsx, as `npx tsx client/examples/<name>` would. */
function run(name: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', `client/examples/${name}`], {
    cwd: ROOT,
    env: { ...process.env, QUEUES_URL: stack.url, NO_PROXY: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe('client examples', () => {
  it('both READMEs show the worker example verbatim', () => {
    for (const readme of ['README.md', 'client/README.md']) {
      expect(readFileSync(`${ROOT}${readme}`, 'utf8'), readme).toContain(example('worker.ts'));
    }
  });

  it('the producer example posts, lists and prints stats', async () => {
    const producer = run('producer.ts');
    expect(await producer.exited, producer.output()).toBe(0);
    expect(producer.output()).toMatch(/posted \[/);
    expect(producer.output()).toMatch(/\{ job: 2 \}/);
  });

  it('the five-line worker handles every message and stops on SIGTERM without losing any', async () => {
    const jobs = new QueuesClient({ url: stack.url, auth: projectId('demo') }).queue('jobs');
    await jobs.purge();
    await jobs.post([1, 2, 3, 4, 5].map((n) => ({ body: { n } })));
    const w = run('worker.ts');
    await vi.waitFor(() => expect(w.output().match(/working on/g)).toHaveLength(5), { timeout: 30_000, interval: 50 });
    w.child.kill('SIGTERM');
    expect(await w.exited, w.output()).toBe(0);
    expect(await jobs.stats()).toMatchObject({ total: 0, claimed: 0 });
  });
});
