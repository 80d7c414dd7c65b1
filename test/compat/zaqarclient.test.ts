// python-zaqarclient compatibility (issue 8): runs the official client, unchanged,
// through zaqarclient_workflow.py against the real server (in-process, over DynamoDB Local).
// Needs the Debian package python3-zaqarclient, which targets /usr/bin/python3 (not a pyenv
// python); .ci/run installs it, so in CI this suite always runs.
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./zaqarclient_workflow.py', import.meta.url));
/** The workflow makes ~120 requests; generous, since CI machines are slow and shared. */
const WORKFLOW_TIMEOUT_MS = 120_000;

/**
 * python-requests honours HTTP(S)_PROXY: a proxy configured on a CI machine must not swallow
 * requests to the local server. No .pyc files next to the script either.
 */
const CHILD_ENV = {
  ...process.env,
  NO_PROXY: '127.0.0.1,localhost',
  no_proxy: '127.0.0.1,localhost',
  PYTHONDONTWRITEBYTECODE: '1',
};

const clientAvailable =
  spawnSync(PYTHON, ['-c', 'import zaqarclient.queues.client'], { stdio: 'ignore' }).status === 0;
const SKIP_REASON = `${PYTHON} cannot import zaqarclient (install the Debian package python3-zaqarclient)`;
if (!clientAvailable) console.warn(`zaqarclient compatibility suite skipped: ${SKIP_REASON}`);

const SUITE = 'python-zaqarclient compatibility';

describe.skipIf(!clientAvailable)(clientAvailable ? SUITE : `${SUITE} (skipped: ${SKIP_REASON})`, () => {
  let stack: TestStack | undefined;

  beforeAll(async () => {
    stack = await startTestStack();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('drives the full workflow through the official client', async () => {
    const url = stack?.url ?? '';
    // Async execFile, not spawnSync: the server runs inside this process and must keep serving.
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(PYTHON, [SCRIPT, url], { timeout: WORKFLOW_TIMEOUT_MS, env: CHILD_ENV }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      });
    });
    // On failure the message shows every failed check and the summary line.
    const failures = result.output
      .split('\n')
      .filter((line) => !line.startsWith('ok   - '))
      .join('\n');
    expect(result.code, failures).toBe(0);
    expect(result.output).toMatch(/^\d+ passed, 0 failed$/m);
  }, WORKFLOW_TIMEOUT_MS + 30_000);
});
