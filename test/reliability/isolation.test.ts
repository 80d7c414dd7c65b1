/**
 * Tenant isolation through the real HTTP API: project A, holding project B's real queue names,
 * message ids and claim ids, can neither read, list, claim, delete, patch nor stat anything of
 * B on any route; and project ids / queue names built from key separators ('#', '%', '/', '.',
 * unicode) never reach another tenant's keys (fast-check over such pairs).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';
import { listAll, record } from './support.js';

let stack: TestStack;
let victim: Client;
let attacker: Client;
let queue: string;
let ids: string[];
let claimId: string;
let claimedIds: string[];
const leaks: string[] = [];
let probes = 0;

/** One isolation check: counted, and collected instead of thrown so the figure covers them all. */
function probe(name: string, ok: boolean): void {
  probes++;
  if (!ok) leaks.push(name);
}

async function victimIntact(): Promise<void> {
  const listed = await listAll(victim, queue);
  probe('victim messages intact', JSON.stringify(listed.map((m) => m.id)) === JSON.stringify(ids));
  const claim = await victim.get(`/v2/queues/${queue}/claims/${claimId}`);
  probe('victim claim intact', claim.status === 200 && claim.json.messages.length === claimedIds.length);
  const meta = await victim.get(`/v2/queues/${queue}`);
  probe('victim metadata intact', meta.json?.secret === 'B-only');
}

beforeAll(async () => {
  stack = await startTestStack();
  victim = new Client(stack.url);
  attacker = new Client(stack.url); // another project, and another Client-ID
  queue = newQueueName();
  expect((await victim.put(`/v2/queues/${queue}`, { body: { secret: 'B-only' } })).status).toBe(201);
  ids = await victim.postMessages(queue, ['b1', 'b2', 'b3', 'b4']);
  const claim = await victim.post(`/v2/queues/${queue}/claims?limit=2`);
  claimId = (claim.headers.get('location') ?? '').split('/').pop() as string;
  claimedIds = (claim.json.messages as { href: string }[]).map((m) => m.href.split('/').pop()?.split('?')[0] as string);
});
afterAll(async () => {
  record('isolation', { probes, crossProjectLeaks: leaks.length });
  await stack.stop();
});

describe('project A using project B real names and ids', () => {
  const Q = () => `/v2/queues/${queue}`;

  it('cannot read, list or stat', async () => {
    const meta = await attacker.get(Q());
    probe('GET queue: no B metadata', meta.status === 200 && meta.json.secret === undefined);
    const queues = await attacker.get('/v2/queues?detailed=true&with_count=true');
    probe('GET queues: B queue not listed', !queues.text.includes(queue) && queues.json.count === 0);
    const stats = await attacker.get(`${Q()}/stats`);
    probe('stats: zero', stats.status === 200 && stats.json.messages.total === 0);
    const list = await attacker.get(`${Q()}/messages?echo=true&include_claimed=true&include_delayed=true`);
    probe('list: empty', list.status === 200 && list.json.messages.length === 0);
    probe('get by ids: 404', (await attacker.get(`${Q()}/messages?ids=${ids.join(',')}`)).status === 404);
    for (const id of ids) probe(`get ${id}: 404`, (await attacker.get(`${Q()}/messages/${id}`)).status === 404);
    probe('get claim: 404', (await attacker.get(`${Q()}/claims/${claimId}`)).status === 404);
    await victimIntact();
    expect(leaks).toEqual([]);
  });

  it('cannot claim, renew, release, delete, pop, purge, patch or delete the queue', async () => {
    probe('claim: nothing (204)', (await attacker.post(`${Q()}/claims?limit=20`)).status === 204);
    probe('renew B claim: 404', (await attacker.patch(`${Q()}/claims/${claimId}`, { body: { ttl: 43_200, grace: 60 } })).status === 404);
    await attacker.delete(`${Q()}/claims/${claimId}`);
    for (const id of ids) {
      await attacker.delete(`${Q()}/messages/${id}`);
      await attacker.delete(`${Q()}/messages/${id}?claim_id=${claimId}`);
    }
    await attacker.delete(`${Q()}/messages?ids=${ids.join(',')}`);
    const pop = await attacker.delete(`${Q()}/messages?pop=20`);
    probe('pop: nothing', pop.status === 200 && pop.json.messages.length === 0);
    await attacker.patch(Q(), {
      rawBody: JSON.stringify([{ op: 'replace', path: '/metadata/secret', value: 'A was here' }]),
      headers: { 'Content-Type': 'application/openstack-messaging-v2.0-json-patch' },
    });
    await attacker.post(`${Q()}/purge`, { body: { resource_types: ['messages', 'subscriptions'] } });
    await attacker.delete(Q());
    await victimIntact();
    // A's own queue of the same name is its own: B never sees A's messages either.
    await attacker.postMessages(queue, ['from A']);
    const seenByB = await listAll(victim, queue);
    probe('B does not see A messages', !seenByB.some((m) => m.body === 'from A'));
    expect(leaks).toEqual([]);
  });

  it('an id only resolves inside its own queue, even within the same project', async () => {
    const other = newQueueName();
    await victim.postMessages(other, ['x']);
    probe('id on another queue: 404', (await victim.get(`/v2/queues/${other}/messages/${ids[0]}`)).status === 404);
    probe('ids= on another queue: 404', (await victim.get(`/v2/queues/${other}/messages?ids=${ids.join(',')}`)).status === 404);
    probe('claim on another queue: 404', (await victim.get(`/v2/queues/${other}/claims/${claimId}`)).status === 404);
    await victim.delete(`/v2/queues/${other}/messages?ids=${ids.join(',')}`);
    await victimIntact();
    expect(leaks).toEqual([]);
  });

  it('ids and claim ids are unguessable: 96 random bits after the sequence; claim ids are random UUIDs', async () => {
    const more = await victim.postMessages(newQueueName(), [1, 2]);
    const [a, b] = more as [string, string];
    expect(a.slice(0, 16)).not.toBe(b.slice(0, 16));
    expect(a.slice(16)).toMatch(/^[0-9a-f]{24}$/);
    expect(a.slice(16)).not.toBe(b.slice(16));
    expect(claimId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('key injection through separators', () => {
  /** Pairs that alias under naive concatenation (Zaqar 15 stores `project.queue`). */
  const CRAFTED: [string, string, string, string][] = [
    ['a.b', 'c', 'a', 'b.c'],
    ['a#Q#b', 'c', 'a', 'c'],
    ['%23', 'q', '#', 'q'],
    ['P#x', 'q', 'x', 'q'],
    ['a/b', 'q', 'a%2Fb', 'q'],
    ['\u00fc', 'q', '%C3%BC', 'q'],
    ['u\u0308', 'q', '\u00fc', 'q'],
    ['x', 'M.00000001', 'x#M', '00000001'],
  ];

  /** A header carries bytes: a UTF-8 project id arrives as its bytes, one latin1 char each (injective). */
  const wire = (project: string): string => Buffer.from(project, 'utf8').toString('latin1');

  const isolated = async (p1: string, q1: string, p2: string, q2: string): Promise<boolean> => {
    const one = new Client(stack.url, wire(p1));
    const two = new Client(stack.url, wire(p2));
    const put = await one.put(`/v2/queues/${q1}`, { body: { owner: p1 } });
    // (the owner tag is compared as JSON text below, so it survives any header encoding)
    if (put.status !== 201 && put.status !== 204) throw new Error(`PUT ${p1}/${q1}: ${put.status} ${put.text}`);
    const [id] = await one.postMessages(q1, [`${p1}/${q1}`]);
    const checks = [
      (await two.get(`/v2/queues/${q2}/messages?echo=true&include_claimed=true`)).json.messages.every(
        (m: { body: unknown }) => m.body !== `${p1}/${q1}`,
      ),
      (await two.get(`/v2/queues/${q2}/messages/${id}`)).status === 404,
      (await two.get(`/v2/queues/${q2}`)).json.owner !== p1,
      !(await two.get('/v2/queues?detailed=true')).text.includes(`"owner":${JSON.stringify(p1)}`),
    ];
    await two.delete(`/v2/queues/${q2}`);
    await two.post(`/v2/queues/${q2}/purge`);
    checks.push((await one.get(`/v2/queues/${q1}/messages/${id}`)).status === 200);
    return checks.every(Boolean);
  };

  it.each(CRAFTED)('project %j queue %j vs project %j queue %j', async (p1, q1, p2, q2) => {
    // Fresh names per run so crafted pairs never see each other's leftovers.
    const tag = newQueueName().slice(2, 10);
    const ok = await isolated(`${p1}-${tag}`, q1, `${p2}-${tag}`, q2);
    probe(`crafted ${p1}/${q1} vs ${p2}/${q2}`, ok);
    expect(ok).toBe(true);
  });

  it('random project ids and queue names with separators never alias (fast-check)', async () => {
    const sep = fc.constantFrom('#', '%', '/', '.', '%23', '#Q#', '\u00e9', '\ud83d\ude00', ':', '~', '|', '\\');
    const project = fc.array(fc.oneof(sep, fc.stringMatching(/^[a-z0-9]{1,4}$/)), { minLength: 1, maxLength: 6 }).map((xs) => xs.join(''));
    const queueName = fc.array(fc.oneof(fc.constantFrom('.', '_', '-'), fc.stringMatching(/^[a-zA-Z0-9]{1,4}$/)), { minLength: 1, maxLength: 6 }).map((xs) => xs.join(''))
      // '.' and '..' are valid names but URL dot segments: an HTTP client cannot address them.
      .filter((q) => !/^\.+$/.test(q));
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(project, queueName, project, queueName, async (p1, q1, p2, q2) => {
        fc.pre(p1 !== p2);
        runs++;
        const tag = newQueueName().slice(2, 8);
        const ok = await isolated(`${tag}${p1}`, q1, `${tag}${p2}`, q2);
        probe(`random ${p1}/${q1} vs ${p2}/${q2}`, ok);
        return ok;
      }),
      { numRuns: 25 },
    );
    expect(runs).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });
});
