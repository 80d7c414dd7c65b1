import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let client: Client;
beforeAll(async () => {
  stack = await startTestStack();
  client = new Client(stack.url);
});
afterAll(async () => stack.stop());

describe('smoke: the issue-2 walkthrough', () => {
  it('ping, create queue, post two messages, list them in order with a next link', async () => {
    expect((await client.get('/v2/ping')).status).toBe(204);
    const q = newQueueName();
    const created = await client.put(`/v2/queues/${q}`);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v2/queues/${q}`);
    const posted = await client.post(`/v2/queues/${q}/messages`, {
      body: { messages: [{ body: { n: 1 } }, { body: { n: 2 }, ttl: 300 }] },
    });
    expect(posted.status).toBe(201);
    expect(posted.json.resources).toHaveLength(2);
    const listed = await client.get(`/v2/queues/${q}/messages?echo=true`);
    expect(listed.status).toBe(200);
    expect(listed.json.messages.map((m: { body: { n: number } }) => m.body.n)).toEqual([1, 2]);
    expect(listed.json.links[0].rel).toBe('next');
  });
});
