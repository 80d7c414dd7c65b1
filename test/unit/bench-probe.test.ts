/**
 * The bench's load accounting: refused writes, write units per partition key and the hottest key,
 * claim fill while a backlog waits, the empty-query minimum of the meter, and the merge that keeps
 * others' sections of docs/benchmarks.md. Arithmetic on given inputs only; no timings.
 */
import { describe, expect, it } from 'vitest';
import { isTransient, HttpError } from '../../bench/client.js';
import { classifyWrite, describeKey, hottestKey, perUnitSum, probeDiff, throttleRate, wastedShare, WriteProbe, writeUnitsByKey } from '../../bench/probe.js';
import { mergeReport } from '../../bench/report.js';
import { Backlog, backlogWaits, emptyClaimFill, meanFill, recordClaim } from '../../bench/stats.js';
import { minimumReadCapacity } from '../../functions/store/dynamo/metrics.js';
import { ATTR, lanePk, PART } from '../../functions/store/dynamo/schema.js';

const ref = { project: 'p', queue: 'q' };
const refused = (name: string) => Object.assign(new Error(name), { name });

describe('write probe', () => {
  it('classifies writes: done, refused by a condition or a cancelled transaction, failed otherwise', () => {
    expect(classifyWrite('GetItem')).toBeUndefined();
    expect(classifyWrite('PutItem')).toBe('ok');
    expect(classifyWrite('UpdateItem', refused('ConditionalCheckFailedException'))).toBe('refused');
    expect(classifyWrite('TransactWriteItems', refused('TransactionCanceledException'))).toBe('refused');
    expect(classifyWrite('DeleteItem', refused('ProvisionedThroughputExceededException'))).toBe('failed');
    expect(wastedShare({ writes: 0, refused: 0, failed: 0 })).toBe(0);
    expect(wastedShare({ writes: 40, refused: 2, failed: 0 })).toBe(0.05);
  });

  it('attributes table units to the written key and index units to its sweep-index shard', () => {
    const pk = lanePk(PART.messages, ref, 3);
    const units = writeUnitsByKey('PutItem', { Item: { [ATTR.pk]: pk, [ATTR.sweepShard]: 'S7' } }, { CapacityUnits: 3, Table: { CapacityUnits: 2 }, GlobalSecondaryIndexes: { sweep: { CapacityUnits: 1 } } });
    expect(units).toEqual([
      { key: pk, units: 2 },
      { key: expect.stringContaining('S7') as string, units: 1 },
    ]);
    expect(describeKey(pk)).toContain('messages of lane 3');
  });

  it('counts requests and units per key between two snapshots', () => {
    const probe = new WriteProbe();
    const pk = lanePk(PART.lane, ref, 0);
    probe.record('UpdateItem', { Key: { [ATTR.pk]: pk } }, { ConsumedCapacity: { CapacityUnits: 1 } });
    const before = probe.snapshot();
    probe.record('UpdateItem', { Key: { [ATTR.pk]: pk } }, { ConsumedCapacity: { CapacityUnits: 1 } });
    probe.record('UpdateItem', { Key: { [ATTR.pk]: pk } }, undefined, refused('ConditionalCheckFailedException'));
    const d = probeDiff(probe.snapshot(), before);
    expect(d.writes).toEqual({ writes: 2, refused: 1, failed: 0 });
    // A refused write is billed too: at least one unit.
    expect(d.keys.get(pk)).toEqual({ units: 2, requests: 2 });
  });

  it('finds the hottest key over a lifecycle and what it allows before a partition throttles', () => {
    const post = new Map([
      ['a', { units: 200, requests: 20 }],
      ['b', { units: 100, requests: 10 }],
    ]);
    const drain = new Map([['a', { units: 100, requests: 100 }]]);
    const units = perUnitSum([
      { tally: post, per: 100 },
      { tally: drain, per: 50 },
    ]);
    expect(units).toEqual(new Map([['a', 4], ['b', 1]]));
    expect(hottestKey(units)).toEqual({ key: 'a', units: 4, share: 0.8, keys: 2 });
    expect(throttleRate(4)).toBe(250);
    expect(hottestKey(new Map())).toBeUndefined();
  });
});

describe('claim fill', () => {
  it('counts only the claims sent while 2 × C × limit messages were claimable', () => {
    const backlog = new Backlog(100);
    backlog.claimed(10);
    backlog.deleted(4);
    expect(backlog.claimable).toBe(90);
    expect(backlogWaits(backlog.claimable, 4, 10)).toBe(true);
    expect(backlogWaits(backlog.claimable, 5, 10)).toBe(false);
    const fill = emptyClaimFill();
    recordClaim(fill, 10, 10, true);
    recordClaim(fill, 5, 10, true);
    recordClaim(fill, 0, 10, true);
    recordClaim(fill, 0, 10, false);
    recordClaim(fill, 3, 10, false);
    expect(fill).toEqual({ claims: 5, shortAll: 2, counted: 3, messages: 15, short: 1, empty: 1 });
    expect(meanFill(fill, 10)).toBe(0.5);
  });
});

describe('meter and client', () => {
  it('bills an empty query at DynamoDB\'s minimum, on the index it read', () => {
    expect(minimumReadCapacity({ ConsistentRead: true })).toEqual({ CapacityUnits: 1, Table: { CapacityUnits: 1 } });
    expect(minimumReadCapacity({ IndexName: 'sweep' })).toEqual({ CapacityUnits: 0.5, GlobalSecondaryIndexes: { sweep: { CapacityUnits: 0.5 } } });
  });

  it('repeats only what a 503 or a lost connection ended', () => {
    expect(isTransient(new HttpError('stats', 503, ''))).toBe(true);
    expect(isTransient(new HttpError('stats', 400, ''))).toBe(false);
    expect(isTransient(new TypeError('fetch failed'))).toBe(true);
  });
});

describe('mergeReport', () => {
  const generated = '# Benchmarks\n\nintro\n\n## Producers on one queue\n\nnew figures\n\n## Cold start\n\nnew\n';

  it('keeps the sections others wrote, after the generated ones, and drops its own old ones', () => {
    const existing = [
      '# Benchmarks',
      '',
      'old intro',
      '',
      '## Producers on one queue',
      '',
      'old figures',
      '',
      '## Subscriptions',
      '',
      'theirs',
      '',
      '### Webhooks',
      '',
      'theirs too',
      '',
      '## Claim cost vs queue depth',
      '',
      'a section of an earlier version of the bench',
      '',
      '## Long polling',
      '',
      'also theirs',
      '',
    ].join('\n');
    const merged = mergeReport(generated, existing);
    expect(merged).toBe(`${generated}\n## Subscriptions\n\ntheirs\n\n### Webhooks\n\ntheirs too\n\n## Long polling\n\nalso theirs\n`);
    // Merging again changes nothing.
    expect(mergeReport(generated, merged)).toBe(merged);
  });

  it('is the generated page when nothing else is there', () => {
    expect(mergeReport(generated, undefined)).toBe(generated);
    expect(mergeReport(generated, generated)).toBe(generated);
  });
});
