/**
 * Per-queue metrics over DynamoDB Local through the real HTTP API: `GET /v2/metrics` (Prometheus
 * text) and the sweeper's metrics step (what it would send to CloudWatch) report what the clients
 * did — posted, claimed, deleted, depth, oldest age — with the cap, the allow-list, stable slots,
 * and two steps at once never counting a period twice. Each test has its own table.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { QueueMetricsSettings } from '../../functions/core/queue-metrics.js';
import { createDocumentClient } from '../../functions/store/dynamo/client.js';
import { ACTIVITY_SHARD_KEYS, ATTR as A, METRICS_PK } from '../../functions/store/dynamo/schema.js';
import { queueMetricsLines } from '../../functions/sweeper/report.js';
import { Sweeper } from '../../functions/sweeper/sweeper.js';
import { QueueMetricsStep, RELEASE_AFTER_MS, type QueueMetricsRun, type QueueReport } from '../../functions/sweeper/queue-metrics.js';
import { Client } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

const SECOND = 1000;

let stack: TestStack | undefined;
let db: DynamoDBDocumentClient | undefined;
afterEach(async () => {
  db?.destroy();
  await stack?.stop();
  stack = undefined;
  db = undefined;
});

async function start(queueMetrics?: QueueMetricsSettings): Promise<{ s: TestStack; client: Client; step: () => Promise<QueueMetricsRun> }> {
  const s = await startTestStack(undefined, queueMetrics ? { queueMetrics } : {});
  stack = s;
  const own = createDocumentClient({ endpoint: s.dynamoEndpoint, requestTimeoutMs: 15_000 });
  db = own;
  const settings = queueMetrics ?? { maxQueues: 0 };
  const step = () => new QueueMetricsStep({ client: own, tableName: s.tableName, clock: s.clock, settings }).run();
  return { s, client: new Client(s.url), step };
}

/** Prometheus samples: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}
const series = (name: string, project: string, queue: string, extra = '') => `${name}{project="${project}",queue="${queue}"${extra}}`;

async function post(client: Client, q: string, n: number): Promise<string[]> {
  return client.postMessages(q, Array.from({ length: n }, (_, i) => ({ n: i })), 600);
}

async function claim(client: Client, q: string, limit: number): Promise<{ claimId: string; ids: string[] }> {
  const r = await client.post(`/v2/queues/${q}/claims?limit=${limit}`, { body: { ttl: 300, grace: 60 } });
  expect(r.status).toBe(201);
  return {
    claimId: String(r.headers.get('location')).split('/').pop() as string,
    ids: (r.json.messages as Array<{ id: string }>).map((m) => m.id),
  };
}

async function deleteClaimed(client: Client, q: string, id: string, claimId: string): Promise<void> {
  expect((await client.delete(`/v2/queues/${q}/messages/${id}?claim_id=${claimId}`)).status).toBe(204);
}

async function itemsIn(pk: (p: string) => boolean): Promise<Record<string, unknown>[]> {
  const out = await (db as DynamoDBDocumentClient).send(new ScanCommand({ TableName: (stack as TestStack).tableName, ConsistentRead: true }));
  return (out.Items ?? []).filter((i) => pk(String(i[A.pk])));
}
const marks = () => itemsIn((pk) => ACTIVITY_SHARD_KEYS.includes(pk));
const readings = () => itemsIn((pk) => pk === METRICS_PK);

const reportOf = (run: QueueMetricsRun, queue: string): QueueReport | undefined => run.reports.find((r) => r.ref.queue === queue);

describe('GET /v2/metrics', () => {
  it('reports the project\u2019s queues in Prometheus text: lifetime counters, messages by state, oldest age', async () => {
    const { s, client } = await start();
    const q = newQueueName();
    const idle = newQueueName();
    expect((await client.put(`/v2/queues/${idle}`)).status).toBe(201);
    await post(client, q, 5);
    const c = await claim(client, q, 2);
    await deleteClaimed(client, q, c.ids[0] as string, c.claimId);
    s.clock.advance(100 * SECOND);
    // Another project's queue never shows.
    const other = client.withProject(`${client.project}-other`);
    await post(other, newQueueName(), 1);

    const r = await client.get('/v2/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.text).toContain('# TYPE cloudqueues_messages_posted_total counter');
    expect(r.text).toContain('# TYPE cloudqueues_queue_messages gauge');
    const m = samples(r.text);
    const p = client.project;
    expect(m.get(series('cloudqueues_messages_posted_total', p, q))).toBe(5);
    expect(m.get(series('cloudqueues_messages_claimed_total', p, q))).toBe(2);
    expect(m.get(series('cloudqueues_messages_deleted_total', p, q))).toBe(1);
    expect(m.get(series('cloudqueues_messages_expired_total', p, q))).toBe(0);
    expect(m.get(series('cloudqueues_queue_messages', p, q, ',state="free"'))).toBe(3);
    expect(m.get(series('cloudqueues_queue_messages', p, q, ',state="claimed"'))).toBe(1);
    const age = m.get(series('cloudqueues_queue_oldest_message_age_seconds', p, q)) as number;
    expect(age).toBeGreaterThanOrEqual(100);
    expect(age).toBeLessThan(100 + 60);
    // An empty queue is reported with zeros; nothing of the other project appears.
    expect(m.get(series('cloudqueues_messages_posted_total', p, idle))).toBe(0);
    expect(m.get(series('cloudqueues_queue_oldest_message_age_seconds', p, idle))).toBe(0);
    expect(m.get(`cloudqueues_queues_omitted{project="${p}"}`)).toBe(0);
    expect(r.text).not.toContain(other.project);
    expect(m.get(series('cloudqueues_messages_dead_lettered_total', p, q))).toBe(0);
  });

  it('counts delayed messages as a depth of their own (free = claimable now), in GET /v2/metrics and the metrics step', async () => {
    const { s, client, step } = await start({ maxQueues: 10 });
    const q = newQueueName();
    await post(client, q, 2);
    expect((await client.post(`/v2/queues/${q}/messages`, { body: { messages: [1, 2, 3].map((n) => ({ body: n, delay: 300 })) } })).status).toBe(201);
    const depth = async () => {
      const m = samples((await client.get('/v2/metrics')).text);
      return Object.fromEntries(['free', 'delayed', 'claimed'].map((st) => [st, m.get(series('cloudqueues_queue_messages', client.project, q, `,state="${st}"`))]));
    };
    expect(await depth()).toEqual({ free: 2, delayed: 3, claimed: 0 });
    expect(reportOf(await step(), q)).toMatchObject({ free: 2, delayed: 3, inClaims: 0, total: 5 });
    // Once their delay ends they are free, before any sweep settles their segment.
    s.clock.advance(301 * SECOND);
    expect(await depth()).toEqual({ free: 5, delayed: 0, claimed: 0 });
    expect(reportOf(await step(), q)).toMatchObject({ free: 5, delayed: 0, inClaims: 0, total: 5 });
  });

  it('counts the messages a queue dead-lettered (claimed past _max_claim_count), in GET /v2/metrics and the metrics step', async () => {
    const { client, step } = await start({ maxQueues: 10 });
    const q = newQueueName();
    const dlq = `${q}-dlq`;
    expect((await client.put(`/v2/queues/${q}`, { body: { _max_claim_count: 1, _dead_letter_queue: dlq } })).status).toBe(201);
    await post(client, q, 2);
    await step(); // baseline
    const first = await claim(client, q, 5);
    expect((await client.delete(`/v2/queues/${q}/claims/${first.claimId}`)).status).toBe(204);
    // Claimed once already: the next claim moves both instead of delivering them.
    expect((await client.post(`/v2/queues/${q}/claims?limit=5`, { body: { ttl: 60, grace: 60 } })).status).toBe(204);

    const m = samples((await client.get('/v2/metrics')).text);
    expect(m.get(series('cloudqueues_messages_dead_lettered_total', client.project, q))).toBe(2);
    expect(m.get(series('cloudqueues_queue_messages', client.project, q, ',state="free"'))).toBe(0);
    expect(m.get(series('cloudqueues_queue_messages', client.project, dlq, ',state="free"'))).toBe(2);
    const run = await step();
    expect(reportOf(run, q)?.period).toMatchObject({ claimed: 2, deadLettered: 2 });
    const [doc] = queueMetricsLines({ ...run, reports: run.reports.filter((r) => r.ref.queue === q) }, 0).map((l) => JSON.parse(l));
    expect(doc).toMatchObject({ queue: q, MessagesDeadLettered: 2, DepthTotal: 0 });
  });

  it('is a project route: 400 without a project, 406 when Accept excludes text/plain; Prometheus\u2019 own Accept is fine', async () => {
    const { client } = await start();
    expect((await client.get('/v2/metrics', { project: null })).status).toBe(400);
    const refused = await client.get('/v2/metrics', { headers: { Accept: 'application/json' } });
    expect(refused.status).toBe(406);
    expect(refused.json).toMatchObject({ title: 'Media type not acceptable' });
    const prometheus = 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1';
    expect((await client.get('/v2/metrics', { headers: { Accept: prometheus } })).status).toBe(200);
  });
});

describe('the sweeper\u2019s metrics step', () => {
  it('reports the counts between two runs from the lanes\u2019 counters, with depth and oldest age', async () => {
    const { s, client, step } = await start({ maxQueues: 10 });
    const q = newQueueName();
    await post(client, q, 3);
    expect(await marks()).toHaveLength(1); // the post noted the queue, nothing read on its path

    const first = await step();
    // The first reading only sets the baseline: no counts yet, but depth and age already.
    expect(reportOf(first, q)).toMatchObject({ free: 3, inClaims: 0, total: 3 });
    expect(reportOf(first, q)?.period).toBeUndefined();
    expect(first).toMatchObject({ overCap: 0, marks: 1 });
    expect(await marks()).toEqual([]); // consumed
    expect(await readings()).toHaveLength(1);

    s.clock.advance(30 * SECOND);
    const c = await claim(client, q, 2);
    await deleteClaimed(client, q, c.ids[0] as string, c.claimId);
    await post(client, q, 2);
    s.clock.advance(30 * SECOND);
    const second = await step();
    const report = reportOf(second, q) as QueueReport;
    expect(report.period).toEqual({ posted: 2, claimed: 2, deleted: 1, expired: 0, deadLettered: 0 });
    expect(report).toMatchObject({ free: 3, inClaims: 1, total: 4 });
    expect(report.oldestAgeSeconds).toBeGreaterThanOrEqual(60);
    expect(report.oldestAgeSeconds).toBeLessThan(60 + 60);

    // Nothing happened: zeros (the queue keeps its slot while it holds messages).
    const third = await step();
    expect(reportOf(third, q)?.period).toEqual({ posted: 0, claimed: 0, deleted: 0, expired: 0, deadLettered: 0 });

    // What the Lambda prints: one EMF document for the queue, one for the run.
    const [doc, run] = queueMetricsLines(second, 1_700_000_000_000).map((l) => JSON.parse(l));
    expect(doc).toMatchObject({ project: client.project, queue: q, MessagesPosted: 2, MessagesClaimed: 2, MessagesDeleted: 1, DepthTotal: 4 });
    expect(doc._aws.CloudWatchMetrics[0].Dimensions).toEqual([['project', 'queue']]);
    expect(run).toMatchObject({ QueuesReported: 1, QueuesOverCap: 0 });
  });

  it('counts messages the sweeper expired, and gives the slot up once the queue is quiet and empty', async () => {
    const { s, client, step } = await start({ maxQueues: 10 });
    const q = newQueueName();
    await client.postMessages(q, [1, 2], 60);
    await step();
    s.clock.advance(120 * SECOND);
    const swept = await s.store.figures({ project: client.project, queue: q });
    expect(swept.stats.total).toBe(0); // past their life: stats no longer count them
    await new Sweeper({ client: db as DynamoDBDocumentClient, tableName: s.tableName, clock: s.clock }).sweep();
    expect(reportOf(await step(), q)?.period).toEqual({ posted: 0, claimed: 0, deleted: 0, expired: 2, deadLettered: 0 });

    s.clock.advance(RELEASE_AFTER_MS);
    const last = await step();
    expect(reportOf(last, q)).toMatchObject({ total: 0, period: { posted: 0, claimed: 0, deleted: 0, expired: 0, deadLettered: 0 } });
    expect(last.released).toBe(1);
    expect(await readings()).toEqual([]);
    expect((await step()).reports).toEqual([]);
  });

  it('reports at most the cap; slots are stable; the rest is counted over the cap, not read', async () => {
    const { s, client, step } = await start({ maxQueues: 1 });
    const [a, b] = [`a-${newQueueName()}`, `b-${newQueueName()}`];
    await post(client, b, 1); // b is first to be seen
    expect((await step()).reports.map((r) => r.ref.queue)).toEqual([b]);
    s.clock.advance(61 * SECOND); // past the containers' mark interval
    await post(client, a, 1);
    await post(client, b, 1);
    const run = await step();
    // a sorts first, but b holds the slot: its series do not flicker.
    expect(run.reports.map((r) => r.ref.queue)).toEqual([b]);
    expect(run.overCap).toBe(1);
    expect(reportOf(run, b)?.period?.posted).toBe(1);
  });

  it('with an allow-list: named queues are reported even idle, other queues are not even noted', async () => {
    const project = `p-${newQueueName()}`;
    const named = newQueueName();
    const { client, step } = await start({ maxQueues: 5, allow: [{ project, queue: named }] });
    const owner = client.withProject(project);
    await post(owner, newQueueName(), 1); // not allowed: no mark, no series
    await post(client, newQueueName(), 1); // another project: the same
    expect(await marks()).toEqual([]);
    const run = await step();
    expect(run.reports.map((r) => r.ref)).toEqual([{ project, queue: named }]);
    expect(reportOf(run, named)).toMatchObject({ total: 0, oldestAgeSeconds: 0 });
  });

  it('two steps at once never count a period twice', async () => {
    const { client, step } = await start({ maxQueues: 10 });
    const q = newQueueName();
    await post(client, q, 1);
    await step();
    await post(client, q, 4);
    const runs = await Promise.all([step(), step(), step()]);
    const posted = runs.map((r) => reportOf(r, q)?.period?.posted ?? 0);
    expect(posted.reduce((x, y) => x + y, 0)).toBe(4);
  });

  it('is off with a cap of 0: no marks, no readings, nothing reported', async () => {
    const { client, step } = await start({ maxQueues: 0 });
    await post(client, newQueueName(), 2);
    expect(await marks()).toEqual([]);
    expect(await step()).toEqual({ reports: [], overCap: 0, marks: 0, released: 0 });
    expect(await readings()).toEqual([]);
  });
});
