/**
 * Property-based fuzzing of every route of the route table through real HTTP (fast-check):
 * malformed and wrongly typed JSON, deep and huge bodies, oversize headers, hostile queue names,
 * bad ids, odd numbers and duplicate query parameters. Every reply must be a documented success
 * or a 4xx with exactly {title, description}; zero 5xx; and the service keeps serving — another
 * tenant's data is untouched afterwards. Bounded here; `npm run fuzz` runs it for longer.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';
import { closeAgent, fuzzRoutes, newTally, routeProperty, type FuzzTarget } from './fuzz-model.js';
import { listAll, record } from './support.js';

/** Inputs per route in the suite (about 1,000 requests in all); FUZZ_RUNS raises it. */
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 40);

let stack: TestStack;
let target: FuzzTarget;
let witness: Client;
let witnessQueue: string;
let witnessIds: string[];

beforeAll(async () => {
  stack = await startTestStack();
  const owner = new Client(stack.url);
  const queue = newQueueName();
  const messageIds = await owner.postMessages(queue, [1, 2, 3, 4, 5]);
  const claim = await owner.post(`/v2/queues/${queue}/claims?limit=2`);
  const claimId = (claim.headers.get('location') ?? '').split('/').pop() as string;
  target = { project: owner.project, clientId: owner.clientId, queue, messageIds, claimId };
  // Another tenant, with a queue of the same name: the fuzzing must never touch it.
  witness = new Client(stack.url);
  witnessQueue = queue;
  witnessIds = await witness.postMessages(witnessQueue, ['w1', 'w2', 'w3']);
});
afterAll(async () => {
  closeAgent();
  await stack.stop();
});

describe('hostile input on every route', () => {
  const tally = newTally();

  for (const route of fuzzRoutes()) {
    it(`${route.method} ${route.path} (${route.id})`, async () => {
      await fc.assert(
        routeProperty(stack.url, route, target, tally),
        { numRuns: RUNS_PER_ROUTE, endOnFailure: true },
      );
    });
  }

  it('keeps serving, and the other tenant is untouched', async () => {
    expect((await witness.get('/v2/ping')).status).toBe(204);
    const listed = await listAll(witness, witnessQueue);
    expect(listed.map((m) => m.id)).toEqual(witnessIds);
    const total = Object.values(tally.counts).reduce((a, b) => a + b, 0);
    record('fuzz', { inputsPerRoute: tally.counts, total, statuses: tally.statuses, serverErrors: tally.serverErrors });
    expect(tally.serverErrors).toBe(0);
    expect(Object.keys(tally.counts)).toHaveLength(fuzzRoutes().length);
  });
});
