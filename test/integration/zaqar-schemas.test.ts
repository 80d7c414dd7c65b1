/**
 * Live answers against Zaqar's own v2 response schemas (test/support/zaqar-schemas.ts,
 * `additionalProperties: false`): message objects in listings, get, get by ids, claim create
 * and claim get carry exactly Zaqar's keys; stats and queue listings have Zaqar's shape; pop
 * keeps Zaqar's storage-shaped objects.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Reply } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';
import { ZAQAR_RESPONSE_SCHEMAS, type ZaqarSchemaName } from '../support/zaqar-schemas.js';

let stack: TestStack;
let client: Client;
const ajv = new Ajv({ allErrors: true, strict: true });

beforeAll(async () => {
  stack = await startTestStack();
  client = new Client(stack.url);
});
afterAll(async () => stack.stop());

function expectSchema(name: ZaqarSchemaName, reply: Reply): void {
  const validate = ajv.getSchema(name) ?? (ajv.addSchema(ZAQAR_RESPONSE_SCHEMAS[name], name), ajv.getSchema(name));
  if (!validate) throw new Error(`no schema ${name}`);
  expect(validate(reply.json), `${name}: ${JSON.stringify(validate.errors)}\n${reply.text}`).toBe(true);
}

describe("answers match Zaqar's v2 response schemas", () => {
  it('messages, claims, stats and queue listings', async () => {
    const q = newQueueName();
    const Q = `/v2/queues/${q}`;
    const ids = await client.postMessages(q, [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }]);

    const listed = await client.get(`${Q}/messages?echo=true&limit=3`);
    expect(listed.json.messages).toHaveLength(3);
    expectSchema('message_list', listed);
    expectSchema('message', await client.get(`${Q}/messages/${ids[0]}`));
    expectSchema('message_get_many', await client.get(`${Q}/messages?ids=${ids.slice(0, 2).join(',')}`));

    const claimed = await client.post(`${Q}/claims?limit=2`, { body: { ttl: 120, grace: 60 } });
    expect(claimed.status).toBe(201);
    expectSchema('claim_create', claimed);
    const claimGet = await client.get(claimed.headers.get('location') as string);
    expectSchema('claim_get', claimGet);
    expect(claimGet.json.messages).toHaveLength(2);

    // A claimed message, read every way, still has only Zaqar's keys (its claim id in the href).
    const withClaimed = await client.get(`${Q}/messages?echo=true&include_claimed=true`);
    expectSchema('message_list', withClaimed);
    expect(withClaimed.json.messages[0].href).toMatch(/\?claim_id=/);
    expectSchema('message', await client.get(`${Q}/messages/${ids[0]}`));
    expectSchema('message_get_many', await client.get(`${Q}/messages?ids=${ids.join(',')}`));

    expectSchema('queue_get_stats', await client.get(`${Q}/stats`));
    await client.put(Q, { body: { color: 'red' } });
    expectSchema('queue_list', await client.get('/v2/queues?detailed=true'));

    // Pop: Zaqar's storage-shaped objects (no href), as its pop answers.
    const popped = await client.delete(`${Q}/messages?pop=2`);
    expect(popped.status).toBe(200);
    for (const m of popped.json.messages as object[]) expect(Object.keys(m).sort()).toEqual(['age', 'body', 'claim_id', 'id', 'ttl']);
  });
});
