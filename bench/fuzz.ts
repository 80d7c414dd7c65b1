/**
 * `npm run fuzz`: the long hostile-input run. Same model as test/reliability/fuzz.test.ts
 * (every route, through real HTTP, over an in-memory DynamoDB Local), but for a fixed time.
 * Env: FUZZ_SECONDS (default 300), FUZZ_BATCH (inputs per route per round, default 50), FUZZ_SEED.
 * Prints inputs per route, status counts and 5xx seen; exits 1 on the first contract violation.
 */
import fc from 'fast-check';
import { startLocalStack } from '../functions/local/stack.js';
import { Client } from '../test/support/http.js';
import { closeAgent, fuzzRoutes, newTally, routeProperty, type FuzzTarget } from '../test/reliability/fuzz-model.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 300);
const BATCH = Number(process.env.FUZZ_BATCH ?? 50);
const SEED = process.env.FUZZ_SEED === undefined ? Date.now() : Number(process.env.FUZZ_SEED);

async function main(): Promise<void> {
  const quiet = { info: () => undefined, error: () => undefined };
  const stack = await startLocalStack({ logRequest: () => undefined, logger: quiet });
  const tally = newTally();
  let failure: string | undefined;
  try {
    const owner = new Client(stack.url);
    const queue = `fuzz-${Date.now()}`;
    const messageIds = await owner.postMessages(queue, [1, 2, 3, 4, 5]);
    const claim = await owner.post(`/v2/queues/${queue}/claims?limit=2`);
    const claimId = (claim.headers.get('location') ?? '').split('/').pop() ?? '';
    const target: FuzzTarget = { project: owner.project, clientId: owner.clientId, queue, messageIds, claimId };
    const deadline = Date.now() + SECONDS * 1000;
    for (let round = 0; Date.now() < deadline && !failure; round++) {
      for (const route of fuzzRoutes()) {
        const result = await fc.check(
          routeProperty(stack.url, route, target, tally),
          { numRuns: BATCH, seed: SEED + round, endOnFailure: true },
        );
        if (result.failed) {
          failure = `${route.id}: ${String(result.errorInstance ?? 'failed')}\ncounterexample: ${JSON.stringify(result.counterexample).slice(0, 2000)}`;
          break;
        }
        if (Date.now() >= deadline) break;
      }
    }
    const ping = await owner.get('/v2/ping');
    const total = Object.values(tally.counts).reduce((a, b) => a + b, 0);
    const { counts: inputsPerRoute, statuses, serverErrors } = tally;
    console.log(JSON.stringify({ seconds: SECONDS, seed: SEED, total, inputsPerRoute, statuses, serverErrors, pingAfter: ping.status }, null, 2));
  } finally {
    closeAgent();
    await stack.stop();
  }
  if (failure) {
    console.error(`contract violation: ${failure}`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
