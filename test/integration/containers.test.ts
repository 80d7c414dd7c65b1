/**
 * The Lambda-faithful local mode over DynamoDB Local: concurrent requests each run in an emulated
 * container of their own (own SDK client, store and caches), containers are reused, the whole API
 * works through them, and servers started on one existing DynamoDB share its data — two stacks in
 * this process, and the real `npm start` with DYNAMODB_ENDPOINT.
 */
import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, describe, expect, inject, it, vi } from 'vitest';
import { freePort } from '../../functions/local/dynamodb-local.js';
import { awsRegionOf, startLocalStack, type LocalStack } from '../../functions/local/stack.js';
import { parseMessageId } from '../../functions/store/dynamo/schema.js';
import { Client } from '../support/http.js';
import { groupAlive, killGroup, startLocalProcess } from '../support/npm-start.js';
import { LAMBDA_FAITHFUL, newQueueName, startTestStack, type TestStack } from '../support/stack.js';

type Next = (args: unknown) => Promise<unknown>;

/**
 * Holds every DynamoDB call at the door until `open()`, recording which client sent it: while
 * closed, each request stops at its first call, so the clients seen are the containers in use.
 */
function gate() {
  const clients = new Set<DynamoDBDocumentClient>();
  let calls = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let closed = false;
  const decorateClient = (client: DynamoDBDocumentClient) => {
    const stack = client.middlewareStack as unknown as { add(mw: (next: Next) => Next, options: Record<string, unknown>): void };
    stack.add(
      (next) => async (args) => {
        if (closed) {
          clients.add(client);
          calls++;
          await opened;
        }
        return next(args);
      },
      { step: 'initialize', name: 'testGate', override: true },
    );
  };
  return {
    decorateClient,
    close: () => void (closed = true),
    open: () => {
      closed = false;
      open();
    },
    clients,
    calls: () => calls,
  };
}

const stacks: LocalStack[] = [];
afterEach(async () => {
  for (const s of stacks.splice(0)) await s.stop();
});

/**
 * A stack of this test file; stopped after the test. No push delivery: its stream reader's
 * DynamoDB client would pass the gate too and count as a container.
 */
async function testStack(...[config, hooks]: Parameters<typeof startTestStack>): Promise<TestStack> {
  const stack = await startTestStack(config, { notifications: { deliver: false }, ...hooks });
  stacks.push(stack);
  return stack;
}

const CONCURRENT = 8;

describe('Lambda-faithful mode', () => {
  it(`${CONCURRENT} concurrent requests run in ${CONCURRENT} containers, each with its own client; later ones reuse them`, async () => {
    const g = gate();
    const stack = await testStack(undefined, { ...LAMBDA_FAITHFUL, decorateClient: g.decorateClient });
    const client = new Client(stack.url);
    const q = newQueueName();
    await client.postMessages(q, ['one']);
    const before = stack.containers?.stats().byFunction.messages;
    expect(before?.containersCreated).toBe(1); // the post's container

    g.close();
    const replies = Promise.all(Array.from({ length: CONCURRENT }, () => client.get(`/v2/queues/${q}/messages?echo=true`)));
    // Every request reaches DynamoDB, each from a client of its own, all at the same time.
    await vi.waitFor(() => expect(g.clients.size).toBe(CONCURRENT), { timeout: 30_000, interval: 20 });
    const held = stack.containers?.stats().byFunction.messages;
    expect(held).toMatchObject({ containersCreated: CONCURRENT, busy: CONCURRENT, waiting: 0 });
    g.open();
    for (const r of await replies) expect(r.status).toBe(200);

    // Sequential requests afterwards: served by the warm containers, none built.
    for (let i = 0; i < 5; i++) expect((await client.get(`/v2/queues/${q}/messages?echo=true`)).status).toBe(200);
    const after = stack.containers?.stats();
    expect(after?.byFunction.messages).toMatchObject({ containersCreated: CONCURRENT, peakConcurrency: CONCURRENT, busy: 0 });
    expect(after?.total.servedRequests).toBe(1 + CONCURRENT + 5);
  });

  it('the in-process mode serves the same concurrent requests through one client (what the containers avoid)', async () => {
    const g = gate();
    const stack = await testStack(undefined, { decorateClient: g.decorateClient });
    const client = new Client(stack.url);
    const q = newQueueName();
    await client.postMessages(q, ['one']);
    g.close();
    const replies = Promise.all(Array.from({ length: CONCURRENT }, () => client.get(`/v2/queues/${q}/messages?echo=true`)));
    await vi.waitFor(() => expect(g.calls()).toBeGreaterThanOrEqual(CONCURRENT), { timeout: 30_000, interval: 20 });
    expect(g.clients.size).toBe(1);
    expect(stack.containers).toBeUndefined();
    g.open();
    for (const r of await replies) expect(r.status).toBe(200);
  });

  it('the whole worker workflow works through the containers: create, post, list, claim, delete, stats, delete queue', async () => {
    const stack = await testStack(undefined, LAMBDA_FAITHFUL);
    const client = new Client(stack.url);
    const q = newQueueName();
    const base = `/v2/queues/${q}`;
    expect((await client.put(base, { body: { description: 'pool' } })).status).toBe(201);
    expect((await client.get(base)).json.description).toBe('pool');
    const ids = await client.postMessages(q, [{ n: 1 }, { n: 2 }, { n: 3 }]);
    const listed = await client.get(`${base}/messages?echo=true`);
    expect(listed.json.messages.map((m: { body: unknown }) => m.body)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const claim = await client.post(`${base}/claims?limit=2`, { body: { ttl: 60, grace: 60 } });
    expect(claim.status).toBe(201);
    const claimId = (claim.headers.get('location') ?? '').split('/').pop() as string;
    const claimed = (claim.json.messages as { id: string }[]).map((m) => m.id);
    expect(claimed).toEqual(ids.slice(0, 2));
    expect((await client.get(`${base}/claims/${claimId}`)).json.messages).toHaveLength(2);
    for (const id of claimed) expect((await client.delete(`${base}/messages/${id}?claim_id=${claimId}`)).status).toBe(204);
    expect((await client.get(`${base}/stats`)).json.messages).toMatchObject({ free: 1, claimed: 0, total: 1 });
    expect((await client.delete(`${base}/messages?pop=1`)).json.messages.map((m: { id: string }) => m.id)).toEqual([ids[2]]);
    expect((await client.delete(base)).status).toBe(204);
    // The stack's own store, beside the containers, sees the same table (for tests that inspect it).
    expect(await stack.store.getQueueMetadata({ project: client.project, queue: q })).toBeUndefined();
    expect((await client.get('/v2/nowhere')).status).toBe(404);
    // Every function served its own routes in containers of its own.
    const { byFunction } = stack.containers?.stats() ?? { byFunction: undefined };
    for (const fn of ['queues', 'messages', 'claims', 'fallback'] as const) {
      expect(byFunction?.[fn].containersCreated, fn).toBe(1);
      expect(byFunction?.[fn].servedRequests, fn).toBeGreaterThan(0);
    }
  });
});

describe('servers sharing one DynamoDB', () => {
  it('a message posted through one server is listed, claimed and deleted through another', async () => {
    const shared = { dynamoEndpoint: inject('dynamoEndpoint'), tableName: `t-${randomUUID()}`, ...LAMBDA_FAITHFUL };
    const quiet = { logRequest: () => undefined, logger: { info: () => undefined, error: () => undefined } };
    const a = await startLocalStack({ ...shared, ...quiet });
    stacks.push(a);
    const b = await startLocalStack({ ...shared, ...quiet });
    stacks.push(b);
    const viaA = new Client(a.url);
    const viaB = new Client(b.url, viaA.project);
    const q = newQueueName();
    const [id] = await viaA.postMessages(q, ['shared']);
    expect((await viaB.put(`/v2/queues/${q}`)).status).toBe(204); // it exists: A's post created it
    expect((await viaB.get(`/v2/queues/${q}/messages?echo=true`)).json.messages.map((m: { id: string }) => m.id)).toEqual([id]);
    const claim = await viaB.post(`/v2/queues/${q}/claims`, { body: { ttl: 60, grace: 60 } });
    expect(claim.json.messages.map((m: { id: string }) => m.id)).toEqual([id]);
    const claimId = (claim.headers.get('location') ?? '').split('/').pop() as string;
    // A sees B's claim: a delete without it is refused, with it accepted.
    expect((await viaA.delete(`/v2/queues/${q}/messages/${id}`)).status).toBe(403);
    expect((await viaA.delete(`/v2/queues/${q}/messages/${id}?claim_id=${claimId}`)).status).toBe(204);
    expect((await viaB.get(`/v2/queues/${q}/stats`)).json.messages.total).toBe(0);
  });

  describe('npm start with DYNAMODB_ENDPOINT', () => {
    const groups: number[] = [];
    afterAll(async () => {
      for (const pid of groups) if (groupAlive(pid)) await killGroup(pid);
    });

    it('uses the existing DynamoDB (no DynamoDB Local of its own) and shares its data with another server', async () => {
      const endpoint = inject('dynamoEndpoint');
      const tableName = `t-${randomUUID()}`;
      const port = await freePort();
      const { child, output } = await startLocalProcess({ PORT: String(port), DYNAMODB_ENDPOINT: endpoint, TABLE_NAME: tableName, SWEEP_INTERVAL_SECONDS: '0' });
      groups.push(child.pid as number);
      expect(output).toContain(`DynamoDB at ${endpoint}, table ${tableName}`);
      expect(output).toContain('emulated Lambda containers');
      const local = await startLocalStack({ dynamoEndpoint: endpoint, tableName, logRequest: () => undefined });
      stacks.push(local);
      const viaProcess = new Client(`http://127.0.0.1:${port}`);
      const viaLocal = new Client(local.url, viaProcess.project);
      const q = newQueueName();
      const [id] = await viaProcess.postMessages(q, ['from the process']);
      const claim = await viaLocal.post(`/v2/queues/${q}/claims`, { body: { ttl: 60, grace: 60 } });
      expect(claim.json.messages.map((m: { id: string }) => m.id)).toEqual([id]);
    });

    it('DELIVERY=off: the server reads no stream, and the table it creates gets none', async () => {
      const endpoint = inject('dynamoEndpoint');
      const tableName = `t-${randomUUID()}`;
      const { child, output } = await startLocalProcess({ DYNAMODB_ENDPOINT: endpoint, TABLE_NAME: tableName, SWEEP_INTERVAL_SECONDS: '0', PORT: String(await freePort()), DELIVERY: 'off' });
      groups.push(child.pid as number);
      expect(output).toContain('push delivery off');
      const ddb = new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      try {
        const { Table } = await ddb.send(new DescribeTableCommand({ TableName: tableName }));
        expect(Table?.StreamSpecification?.StreamEnabled ?? false).toBe(false);
      } finally {
        ddb.destroy();
      }
    });

    it('LANES_PER_QUEUE takes effect (new queues spread producers over that many lanes) and a bad value stops it at start', async () => {
      const endpoint = inject('dynamoEndpoint');
      const tableName = `t-${randomUUID()}`;
      const port = await freePort();
      const common = { DYNAMODB_ENDPOINT: endpoint, TABLE_NAME: tableName, SWEEP_INTERVAL_SECONDS: '0' };
      const { child } = await startLocalProcess({ ...common, PORT: String(port), LANES_PER_QUEUE: '2' });
      groups.push(child.pid as number);
      const q = newQueueName();
      const lanes: (number | undefined)[] = [];
      for (let p = 0; p < 3; p++) {
        const [id] = await new Client(`http://127.0.0.1:${port}`, 'lanes-project').postMessages(q, [`from producer ${p}`]);
        lanes.push(parseMessageId(id ?? '')?.lane);
      }
      expect(lanes).toEqual([0, 1, 0]);
      await expect(startLocalProcess({ ...common, PORT: String(await freePort()), DELIVERY: 'maybe' })).rejects.toThrow(/DELIVERY must be on or off/);
      await expect(startLocalProcess({ ...common, PORT: String(await freePort()), LANES_PER_QUEUE: '120' })).rejects.toThrow(
        /server exited \(1\)[\s\S]*LANES_PER_QUEUE must be a whole number from 1 to 99/,
      );
    });
  });
});

describe('DYNAMODB_ENDPOINT forms', () => {
  it.each([
    ['http://127.0.0.1:8000', undefined],
    ['http://dynamodb-local:8000', undefined],
    ['https://dynamodb.eu-west-1.amazonaws.com', 'eu-west-1'],
    ['https://dynamodb.us-east-1.amazonaws.com/', 'us-east-1'],
  ])('%s → region %s', (endpoint, region) => {
    expect(awsRegionOf(endpoint)).toBe(region);
  });

  it.each(['https://sqs.eu-west-1.amazonaws.com', 'not a url'])('refuses %s', (endpoint) => {
    expect(() => awsRegionOf(endpoint)).toThrow();
  });
});
