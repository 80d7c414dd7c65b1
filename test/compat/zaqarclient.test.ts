// python-zaqarclient compatibility (issue 8): runs the official client, unchanged,
// through zaqarclient_workflow.py against the real server (in-process, over DynamoDB Local).
// Needs the Debian package python3-zaqarclient, which targets /usr/bin/python3 (not a pyenv
// python); .ci/run installs it, so in CI this suite always runs.
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer } from '../../functions/auth/authorizer.js';
import { systemClock } from '../../functions/core/clock.js';
import { memorySecrets } from '../../functions/local/secrets.js';
import { startIssuer, TEST_AUDIENCE, type TestIssuer } from '../support/issuer.js';
import { startTestStack, type TestStack } from '../support/stack.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./zaqarclient_workflow.py', import.meta.url));
/** Signed URLs (`signed-url` backend) and pre-issued tokens (`keystone` backend, X-Auth-Token). */
const AUTH_SCRIPT = fileURLToPath(new URL('./zaqarclient_auth.py', import.meta.url));
/** Subscriptions through the client, deliveries to a receiver the script runs on loopback. */
const SUBSCRIPTIONS_SCRIPT = fileURLToPath(new URL('./zaqarclient_subscriptions.py', import.meta.url));
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
  /** The same service behind the Lambda authorizer (as deployed), and the OpenID issuer it trusts. */
  let deployed: TestStack | undefined;
  let issuer: TestIssuer | undefined;
  /** Delivers with no subscription cache, so a deleted subscription receives nothing from the next post on. */
  let delivering: TestStack | undefined;

  beforeAll(async () => {
    stack = await startTestStack();
    delivering = await startTestStack(undefined, { notifications: { cacheTtlMs: 0 } });
    issuer = await startIssuer();
    const secrets = memorySecrets();
    const authorizer = createAuthorizer({
      jwt: { issuer: issuer.url, audience: [TEST_AUDIENCE], projectClaim: 'project_id' },
      secrets,
      clock: systemClock,
    });
    deployed = await startTestStack(undefined, { authorizer, secrets });
  });

  afterAll(async () => {
    await stack?.stop();
    await deployed?.stop();
    await delivering?.stop();
    await issuer?.stop();
  });

  it('drives the full workflow through the official client', async () => {
    await expectAllPassed(await runPython(SCRIPT, [stack?.url ?? '']));
  }, WORKFLOW_TIMEOUT_MS + 30_000);

  it('subscriptions: create, list, update and delete through the client; deliveries arrive signed', async () => {
    await expectAllPassed(await runPython(SUBSCRIPTIONS_SCRIPT, [delivering?.url ?? '']));
  }, WORKFLOW_TIMEOUT_MS + 30_000);

  it('signed URLs: a signed-url client reads and claims one queue, every tampering is ResourceNotFound', async () => {
    await expectAllPassed(await runPython(AUTH_SCRIPT, [stack?.url ?? '', 'noauth']));
  }, WORKFLOW_TIMEOUT_MS + 30_000);

  it('behind the Lambda authorizer: a pre-issued token via X-Auth-Token (keystone backend), then signed URLs', async () => {
    const idp = issuer as TestIssuer;
    const tokens = [
      await idp.mint({ project_id: `compat-${randomUUID()}` }, { expiresIn: 600 }),
      await idp.mint({ project_id: `compat-${randomUUID()}` }, { expiresIn: 600 }),
      await idp.mint({ project_id: 'compat-refused' }, { stranger: true }),
    ];
    await expectAllPassed(await runPython(AUTH_SCRIPT, [deployed?.url ?? '', 'token', ...tokens]));
  }, WORKFLOW_TIMEOUT_MS + 30_000);
});

/** Runs a script of the suite. Async execFile, not spawnSync: the server runs inside this process and must keep serving. */
function runPython(script: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [script, ...args], { timeout: WORKFLOW_TIMEOUT_MS, env: CHILD_ENV }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** On failure the message shows every failed check and the summary line. */
function expectAllPassed(result: { code: number; output: string }): void {
  const failures = result.output
    .split('\n')
    .filter((line) => !line.startsWith('ok   - '))
    .join('\n');
  expect(result.code, failures).toBe(0);
  const summary = /^(\d+) passed, 0 failed$/m.exec(result.output);
  expect(Number(summary?.[1] ?? 0), result.output).toBeGreaterThan(10);
}
