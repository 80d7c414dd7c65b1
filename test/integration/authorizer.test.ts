/**
 * The deployed authentication path over real HTTP: the local server runs the Lambda authorizer
 * in-process before every non-public route (as API Gateway does), with a local OpenID issuer.
 * Tokens as `Authorization: Bearer` and as `X-Auth-Token` name the project (X-Project-ID is
 * ignored); refusals answer Zaqar's statuses with the contract body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer } from '../../functions/auth/authorizer.js';
import { memorySecrets } from '../../functions/local/secrets.js';
import { Client, type Reply } from '../support/http.js';
import { startIssuer, TEST_AUDIENCE, type TestIssuer } from '../support/issuer.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

let issuer: TestIssuer;
let stack: TestStack;
beforeAll(async () => {
  issuer = await startIssuer();
  const secrets = memorySecrets();
  const clock = { now: () => stack.clock.now() };
  stack = await startTestStack(undefined, {
    secrets,
    authorizer: createAuthorizer({ jwt: { issuer: issuer.url, audience: [TEST_AUDIENCE], projectClaim: 'project_id' }, secrets, clock }),
  });
});
afterAll(async () => {
  await stack.stop();
  await issuer.stop();
});

/** A client whose X-Project-ID is a decoy: only the token may name the project. */
const as = (headers: Record<string, string>) => {
  const c = new Client(stack.url, 'decoy-project');
  return (method: string, path: string, body?: unknown) => c.request(method, path, { headers, ...(body !== undefined ? { body } : {}) });
};

const expectError = (r: Reply, status: number) => {
  expect(r.status, r.text).toBe(status);
  expect(Object.keys(r.json ?? {}).sort()).toEqual(['description', 'title']);
};

describe('behind the Lambda authorizer', () => {
  it('a token names the project, as a bearer token or as X-Auth-Token; X-Project-ID is ignored', async () => {
    const project = `p-${newQueueName()}`;
    const token = await issuer.mint({ project_id: project });
    const q = newQueueName();
    const bearer = as({ Authorization: `Bearer ${token}` });
    const keystone = as({ 'X-Auth-Token': token });
    expect((await bearer('PUT', `/v2/queues/${q}`)).status).toBe(201);
    expect((await keystone('POST', `/v2/queues/${q}/messages`, { messages: [{ body: 1 }] })).status).toBe(201);
    expect((await bearer('GET', `/v2/queues/${q}/messages?echo=true`)).json.messages).toHaveLength(1);
    const other = as({ 'X-Auth-Token': await issuer.mint({ project_id: 'decoy-project' }) });
    expect((await other('GET', `/v2/queues/${q}/messages?echo=true`)).json.messages).toEqual([]);
  });

  it.each([
    ['no credentials', async () => ({})],
    ['an expired token', async () => ({ 'X-Auth-Token': await issuer.mint({ project_id: 'p' }, { expiresIn: -5 }) })],
    ['a token of another key', async () => ({ Authorization: `Bearer ${await issuer.mint({ project_id: 'p' }, { stranger: true })}` })],
    ['a token for another audience', async () => ({ 'X-Auth-Token': await issuer.mint({ project_id: 'p', aud: 'other' }) })],
  ])('%s → 401 with the contract body', async (_what, headers) => {
    expectError(await as(await headers())('GET', '/v2/queues'), 401);
  });

  it('public routes need no credentials', async () => {
    expect((await as({})('GET', '/v2/ping')).status).toBe(204);
  });

  it('a signed URL made with a token works with nothing else; a tampered one is 404 and changes nothing', async () => {
    const token = await issuer.mint({ project_id: `p-${newQueueName()}` });
    const owner = as({ 'X-Auth-Token': token });
    const q = newQueueName();
    await owner('POST', `/v2/queues/${q}/messages`, { messages: [{ body: 'kept' }] });
    const grant = (await owner('POST', `/v2/queues/${q}/share`, { methods: ['GET', 'DELETE'] })).json;
    const headers = {
      'URL-Signature': grant.signature,
      'URL-Expires': grant.expires,
      'URL-Methods': grant.methods.join(','),
      'URL-Paths': grant.paths.join(','),
    };
    const agent = new Client(stack.url, grant.project);
    expect((await agent.get(`/v2/queues/${q}/messages?echo=true`, { headers })).json.messages).toHaveLength(1);
    const forged = { ...headers, 'URL-Methods': 'DELETE,GET,POST' };
    expectError(await agent.post(`/v2/queues/${q}/messages`, { headers: forged, body: { messages: [{ body: 'x' }] } }), 404);
    expectError(await agent.withProject('decoy-project').get(`/v2/queues/${q}/messages`, { headers }), 404);
    expect((await owner('GET', `/v2/queues/${q}/messages?echo=true`)).json.messages.map((m: { body: unknown }) => m.body)).toEqual(['kept']);
  });
});
