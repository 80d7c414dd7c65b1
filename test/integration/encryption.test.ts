/**
 * `_enable_encrypt_messages`: bodies are encrypted before they reach DynamoDB (the raw table
 * holds no plaintext) and every route that returns bodies decrypts them; switching it off keeps
 * old messages readable; a non-boolean value is refused.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../functions/store/dynamo/client.js';
import { Client } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let c: Client;
beforeAll(async () => {
  stack = await startTestStack();
  c = new Client(stack.url);
});
afterAll(async () => stack.stop());

/** Everything the table holds, as text. */
async function rawTable(): Promise<string> {
  const ddb = createDocumentClient({ endpoint: stack.dynamoEndpoint });
  try {
    const items: unknown[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await ddb.send(new ScanCommand({ TableName: stack.tableName, ...(start ? { ExclusiveStartKey: start } : {}) }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return JSON.stringify(items);
  } finally {
    ddb.destroy();
  }
}

const bodiesOf = (messages: { body: unknown }[]) => messages.map((m) => m.body);

describe('_enable_encrypt_messages', () => {
  it('stores ciphertext only, and every route returns the bodies as posted', async () => {
    const q = newQueueName();
    const Q = `/v2/queues/${q}`;
    expect((await c.put(Q, { body: { _enable_encrypt_messages: true } })).status).toBe(201);
    expect((await c.get(Q)).json._enable_encrypt_messages).toBe(true);
    const marker = `top-secret-${q}`;
    const bodies = [{ marker, n: 1 }, `${marker} ü`, { marker, list: [1, null, true] }, 42, null];
    const ids = await c.postMessages(q, bodies);
    expect(await rawTable()).not.toContain(marker);

    expect(bodiesOf((await c.get(`${Q}/messages?echo=true`)).json.messages)).toEqual(bodies);
    expect((await c.get(`${Q}/messages/${ids[0]}`)).json.body).toEqual(bodies[0]);
    expect(bodiesOf((await c.get(`${Q}/messages?ids=${ids.join(',')}`)).json.messages)).toEqual(bodies);
    const claim = await c.post(`${Q}/claims?limit=2`, { body: { ttl: 60, grace: 60 } });
    expect(bodiesOf(claim.json.messages)).toEqual(bodies.slice(0, 2));
    expect(bodiesOf((await c.get(claim.headers.get('location') as string)).json.messages)).toEqual(bodies.slice(0, 2));
    expect(bodiesOf((await c.delete(`${Q}/messages?pop=3`)).json.messages)).toEqual(bodies.slice(2));
  });

  it('switching it off keeps the encrypted messages readable; new ones are stored plain', async () => {
    const q = newQueueName();
    const Q = `/v2/queues/${q}`;
    await c.put(Q, { body: { _enable_encrypt_messages: true } });
    await c.postMessages(q, [{ sealed: `s-${q}` }]);
    const off = await c.patch(Q, {
      rawBody: JSON.stringify([{ op: 'replace', path: '/metadata/_enable_encrypt_messages', value: false }]),
      headers: { 'Content-Type': 'application/openstack-messaging-v2.0-json-patch' },
    });
    expect(off.status).toBe(200);
    await c.postMessages(q, [{ plain: `p-${q}` }]);
    const raw = await rawTable();
    expect(raw).not.toContain(`s-${q}`);
    expect(raw).toContain(`p-${q}`);
    expect(bodiesOf((await c.get(`${Q}/messages?echo=true`)).json.messages)).toEqual([{ sealed: `s-${q}` }, { plain: `p-${q}` }]);
  });

  it('a plain body shaped like a sealed one is returned exactly as posted', async () => {
    const q = newQueueName();
    const lookAlike = { '$cloud-queues:sealed': 'v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
    await c.postMessages(q, [lookAlike]);
    expect(bodiesOf((await c.get(`/v2/queues/${q}/messages?echo=true`)).json.messages)).toEqual([lookAlike]);
  });

  it('only a boolean is accepted (PUT and PATCH)', async () => {
    const q = newQueueName();
    for (const value of ['true', 1, null, {}]) {
      expect((await c.put(`/v2/queues/${newQueueName()}`, { body: { _enable_encrypt_messages: value } })).status).toBe(400);
    }
    await c.put(`/v2/queues/${q}`);
    const patch = await c.patch(`/v2/queues/${q}`, {
      rawBody: JSON.stringify([{ op: 'add', path: '/metadata/_enable_encrypt_messages', value: 'yes' }]),
      headers: { 'Content-Type': 'application/openstack-messaging-v2.0-json-patch' },
    });
    expect(patch.status).toBe(400);
  });
});
