/**
 * The table's layout (functions/store/dynamo/schema.ts): keys of every partition kind, the
 * encodings that keep them injective and ordered, the inverse parsers the sweeper relies on,
 * message and claim ids, the sweep index shards, and the table definition both local mode and
 * CDK build from.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ATTR,
  claimKey,
  cleanupKey,
  createTableInput,
  dueKey,
  dueSk,
  dueUpTo,
  encodeProject,
  expiryKey,
  expirySk,
  INDEX,
  isClaimId,
  KIND,
  LANE_SK,
  laneKey,
  laneOfClaimId,
  lanePk,
  MAX_LANES,
  messageKey,
  newClaimId,
  newMessageId,
  newToken,
  padSeq,
  padTime,
  PART,
  parseCleanupPk,
  parseLanePk,
  parseMessageId,
  producerKey,
  projectPk,
  queueSk,
  registryKey,
  SWEEP_LEASE_GROUPS,
  SWEEP_LEASES,
  SWEEP_SHARD_KEYS,
  SWEEP_SHARDS,
  sweepShard,
  TABLE,
  timeOfSk,
} from '../../functions/store/dynamo/schema.js';

const ref = { project: 'p1', queue: 'q1' };
const NOW = 1_700_000_000_000;
const CID = '02b7c2f9-6a0d-4c59-a0a8-1f3b0c9d2e11';

/** Project ids: any well-formed Unicode text (lone surrogates are refused before the store). */
const projects = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 });
/** Queue names as validation lets them through. */
const queues = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/);
const lanes = fc.integer({ min: 0, max: MAX_LANES - 1 });
const parts = fc.constantFrom(PART.lane, PART.messages, PART.expiry, PART.due, PART.claims);

describe('keys', () => {
  it('registry, lane, message, claim, producer, due, expiry and cleanup keys', () => {
    expect(registryKey(ref)).toEqual({ pk: 'P#p1', sk: 'Q#q1' });
    expect(projectPk('p1')).toBe('P#p1');
    expect(queueSk('q1')).toBe('Q#q1');
    expect(laneKey(ref, 3)).toEqual({ pk: 'L#p1#q1#3', sk: LANE_SK });
    expect(LANE_SK).toBe('L');
    expect(messageKey(ref, 3, 42)).toEqual({ pk: 'M#p1#q1#3', sk: '0000000000000042' });
    // A claim lives in its home lane, named by the first byte of its id.
    expect(claimKey(ref, CID)).toEqual({ pk: 'C#p1#q1#2', sk: CID });
    expect(producerKey(ref, 'cli')).toEqual({ pk: 'R#p1#q1#cli', sk: 'R' });
    expect(dueKey(ref, 3, 'x')).toEqual({ pk: 'D#p1#q1#3', sk: 'x' });
    expect(expiryKey(ref, 3, 'y')).toEqual({ pk: 'E#p1#q1#3', sk: 'y' });
    expect(cleanupKey(ref, 7)).toEqual({ pk: 'F#p1#q1', sk: '7' });
  });

  it('every partition kind of a lane has its own partition key', () => {
    const pks = Object.values(PART).map((part) => lanePk(part, ref, 0));
    expect(new Set(pks).size).toBe(Object.values(PART).length);
    expect(lanePk(PART.lane, ref, 0)).not.toBe(lanePk(PART.lane, ref, 1));
  });

  it('due and expiry sort keys start with the due time, so a query by time range finds them', () => {
    expect(dueSk(NOW, KIND.claim, CID)).toBe(`001700000000000#C#${CID}`);
    expect(expirySk(NOW, 'tok')).toBe('001700000000000#tok');
    expect(timeOfSk(dueSk(NOW, KIND.released, 'x'))).toBe(NOW);
    // dueUpTo(t) bounds every sort key due at t and none due later.
    expect(dueSk(NOW, KIND.delayed, 'zzzz') <= dueUpTo(NOW)).toBe(true);
    expect(expirySk(NOW, 'ffffffffffff') <= dueUpTo(NOW)).toBe(true);
    expect(dueSk(NOW + 1, KIND.claim, '0') <= dueUpTo(NOW)).toBe(false);
  });

  it('padTime: whole non-negative milliseconds', () => {
    expect(padTime(-5)).toBe('000000000000000');
    expect(padTime(12.9)).toBe('000000000000012');
  });

  it('the project is percent-encoded, so "a#b" + "c" cannot alias "a" + "b#c"', () => {
    const a = { project: 'a#b', queue: 'c' };
    const b = { project: 'a', queue: 'b#c' }; // validation forbids '#' in queue names; the key must not rely on it
    expect(lanePk(PART.messages, a, 0)).toBe('M#a%23b#c#0');
    expect(lanePk(PART.messages, a, 0)).not.toBe(lanePk(PART.messages, b, 0));
    expect(registryKey(a)).toEqual({ pk: 'P#a%23b', sk: 'Q#c' });
    expect(cleanupKey(a, 1).pk).not.toBe(cleanupKey(b, 1).pk);
    expect(producerKey(a, 'x').pk).not.toBe(producerKey(b, 'x').pk);
  });

  it('encodeProject is injective and never yields "#"', () => {
    fc.assert(
      fc.property(projects, projects, (p, q) => {
        expect(encodeProject(p)).not.toContain('#');
        expect(encodeProject(p) === encodeProject(q)).toBe(p === q);
      }),
    );
  });

  it('padding makes sort order numeric order (sequences and times)', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (a, b) => {
        expect(padSeq(a) < padSeq(b)).toBe(a < b);
        expect(padSeq(a)).toHaveLength(16);
      }),
    );
    fc.assert(
      fc.property(fc.nat({ max: 999_999_999_999_999 }), fc.nat({ max: 999_999_999_999_999 }), (a, b) => {
        expect(padTime(a) < padTime(b)).toBe(a < b);
        expect(padTime(a)).toHaveLength(15);
      }),
    );
  });
});

describe('parseLanePk / parseCleanupPk', () => {
  it('parseLanePk inverts lanePk for every lane partition, project and lane', () => {
    fc.assert(
      fc.property(parts, projects, queues, lanes, (part, project, queue, lane) => {
        expect(parseLanePk(lanePk(part, { project, queue }, lane))).toEqual({ ref: { project, queue }, lane, part });
      }),
    );
  });

  it('parseCleanupPk inverts cleanupKey', () => {
    fc.assert(
      fc.property(projects, queues, fc.nat(), (project, queue, generation) => {
        expect(parseCleanupPk(cleanupKey({ project, queue }, generation).pk)).toEqual({ project, queue });
      }),
    );
  });

  it.each([
    ['the registry', 'P#p1'],
    ['a cleanup record', 'F#p1#q1'],
    ['a producer binding (no lane)', 'R#p1#q1#cli'],
    ['the ping key', '#PING'],
    ['a sweep shard', 'SW#1'],
    ['no lane', 'M#p1#q1'],
    ['a lane that is not a number', 'M#p1#q1#x'],
    ['a negative lane', 'M#p1#q1#-1'],
    ['one part too many', 'M#p1#q1#1#2'],
    ['an empty project', 'M##q1#1'],
    ['an empty queue', 'M#p1##1'],
    ['a project encodeURIComponent never writes', 'M#%E0%A4%A#q1#1'],
    ['an unknown kind', 'X#p1#q1#1'],
  ])('parseLanePk refuses %s', (_what, pk) => {
    expect(parseLanePk(pk)).toBeUndefined();
  });

  it.each([
    ['a lane partition', 'L#p1#q1#0'],
    ['no queue', 'F#p1'],
    ['one part too many', 'F#p1#q1#2'],
    ['an empty project', 'F##q1'],
    ['a project encodeURIComponent never writes', 'F#%E0%A4%A#q1'],
  ])('parseCleanupPk refuses %s', (_what, pk) => {
    expect(parseCleanupPk(pk)).toBeUndefined();
  });
});

describe('message ids', () => {
  it('carry lane and sequence (one GetItem finds the message), 40 lowercase hex digits', () => {
    const id = newMessageId(3, 42);
    expect(id).toMatch(/^[0-9a-f]{40}$/);
    expect(id.slice(0, 16)).toBe('030000000000002a');
    expect(parseMessageId(id)).toEqual({ lane: 3, seq: 42 });
    expect(newMessageId(MAX_LANES - 1, 1).slice(0, 2)).toBe('ff');
  });

  it('round trip for every lane and sequence', () => {
    fc.assert(
      fc.property(lanes, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (lane, seq) => {
        expect(parseMessageId(newMessageId(lane, seq))).toEqual({ lane, seq });
      }),
    );
  });

  it('96 random bits: ids cannot be guessed from a neighbour or a marker', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newMessageId(0, 1)));
    expect(ids.size).toBe(1000);
    const tails = [...ids].map((id) => id.slice(16));
    expect(tails.every((t) => /^[0-9a-f]{24}$/.test(t))).toBe(true);
  });

  const valid = newMessageId(1, 5);
  it.each([
    ['upper case', valid.toUpperCase()],
    ['one digit short', valid.slice(1)],
    ['one digit long', `${valid}0`],
    ['not hex', `${valid.slice(0, 39)}g`],
    ['sequence 0', `01${'0'.repeat(14)}${valid.slice(16)}`],
    ['a sequence beyond safe integers', `01${'f'.repeat(14)}${valid.slice(16)}`],
    ['a claim id', CID],
    ['empty', ''],
    ['padded', ` ${valid}`],
  ])('refuses %s', (_what, id) => {
    expect(parseMessageId(id)).toBeUndefined();
  });
});

describe('claim ids', () => {
  it('are UUID-shaped (what Zaqar clients expect) and name their home lane in the first byte', () => {
    for (const lane of [0, 1, 2, 15, 16, 200, MAX_LANES - 1]) {
      const id = newClaimId(lane);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(isClaimId(id)).toBe(true);
      expect(laneOfClaimId(id)).toBe(lane);
      expect(claimKey(ref, id).pk).toBe(`C#p1#q1#${lane}`);
    }
    expect(new Set(Array.from({ length: 1000 }, () => newClaimId(0))).size).toBe(1000);
  });

  it.each([
    ['upper case', CID.toUpperCase()],
    ['braces', `{${CID}}`],
    ['no dashes', CID.replaceAll('-', '')],
    ['a message id', newMessageId(0, 1)],
    ['empty', ''],
  ])('isClaimId refuses %s', (_what, id) => {
    expect(isClaimId(id)).toBe(false);
  });

  it('laneOfClaimId of text that is not hex is lane 0 (never NaN in a key)', () => {
    expect(laneOfClaimId('zz')).toBe(0);
    expect(laneOfClaimId('')).toBe(0);
  });

  it('tokens: 12 hex digits, random', () => {
    expect(newToken()).toMatch(/^[0-9a-f]{12}$/);
    expect(new Set(Array.from({ length: 1000 }, newToken)).size).toBe(1000);
  });
});

describe('sweep shards', () => {
  it('SWEEP_SHARD_KEYS: SWEEP_SHARDS distinct keys', () => {
    expect(SWEEP_SHARD_KEYS).toHaveLength(SWEEP_SHARDS);
    expect(new Set(SWEEP_SHARD_KEYS).size).toBe(SWEEP_SHARDS);
  });

  it('sweepShard is always one of SWEEP_SHARD_KEYS', () => {
    fc.assert(
      fc.property(parts, projects, queues, lanes, (part, project, queue, lane) => {
        expect(SWEEP_SHARD_KEYS).toContain(sweepShard(lanePk(part, { project, queue }, lane)));
      }),
    );
  });

  it('sweepShard is stable: a pure function of the partition key, the same in every process and release', () => {
    expect(sweepShard('E#p1#q1#0')).toBe('SW#34');
    expect(sweepShard('D#p1#q1#2')).toBe('SW#39');
    expect(sweepShard('F#p1#q1')).toBe('SW#37');
  });

  it('the expiry and due partitions of one queue\'s lanes load every shard evenly', () => {
    for (const q of [ref, { project: 'another project', queue: 'busy.queue-1' }]) {
      const load = new Map<string, number>();
      for (let lane = 0; lane < SWEEP_SHARDS * 3; lane++) {
        for (const part of [PART.expiry, PART.due]) load.set(sweepShard(lanePk(part, q, lane)), (load.get(sweepShard(lanePk(part, q, lane))) ?? 0) + 1);
      }
      expect(load.size).toBe(SWEEP_SHARDS);
      expect(new Set(load.values())).toEqual(new Set([6])); // 3 lanes × 2 partitions each
    }
  });

  it('different queues start at different shards', () => {
    const first = new Set(Array.from({ length: 32 }, (_, i) => sweepShard(lanePk(PART.expiry, { project: 'p', queue: `q${i}` }, 0))));
    expect(first.size).toBeGreaterThan(8);
  });

  it('leases cover every shard exactly once', () => {
    const covered = SWEEP_LEASE_GROUPS.flatMap((g) => g.shards);
    expect(covered).toHaveLength(SWEEP_SHARDS);
    expect(new Set(covered)).toEqual(new Set(SWEEP_SHARD_KEYS));
    expect(SWEEP_LEASE_GROUPS).toHaveLength(SWEEP_LEASES);
  });
});

describe('table definition', () => {
  it('TABLE names the attributes of ATTR', () => {
    expect(TABLE).toEqual({
      partitionKey: { name: ATTR.pk, type: 'S' },
      sortKey: { name: ATTR.sk, type: 'S' },
      ttlAttribute: ATTR.ttl,
      indexes: [{ name: INDEX.sweep, partitionKey: { name: ATTR.sweepShard, type: 'S' }, sortKey: { name: ATTR.sweepAt, type: 'N' } }],
      streamViewType: 'NEW_IMAGE',
    });
  });

  it('no two attributes share a name, and no plain attribute looks like an in-flight entry', () => {
    const values = Object.values(ATTR);
    expect(new Set(values).size).toBe(values.length);
    const prefixes = [ATTR.inflightStart, ATTR.inflightInfo, ATTR.reserveStart, ATTR.reserveInfo];
    for (const name of values.filter((v) => !prefixes.includes(v as (typeof prefixes)[number]))) {
      for (const prefix of prefixes) expect(name.startsWith(prefix)).toBe(false);
    }
  });

  it('createTableInput: on-demand, the stream (new images, for push delivery), the key schema, the sparse sweep index projecting everything', () => {
    expect(createTableInput('units')).toEqual({
      TableName: 'units',
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'sws', AttributeType: 'S' },
        { AttributeName: 'swt', AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'sweep',
          KeySchema: [
            { AttributeName: 'sws', KeyType: 'HASH' },
            { AttributeName: 'swt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });
});
