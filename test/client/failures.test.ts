/** The worker's own count of failed deliveries (client/src/failures.ts): per id, bounded, forgotten on success. */
import { describe, expect, it } from 'vitest';
import { FailureCounts } from '../../client/src/failures.js';

describe('FailureCounts', () => {
  it('counts failures per message id, from 1, and forgets an id on success', () => {
    const counts = new FailureCounts(10);
    expect(counts.get('a')).toBe(0);
    expect([counts.add('a'), counts.add('a'), counts.add('b'), counts.add('a')]).toEqual([1, 2, 1, 3]);
    expect(counts.get('b')).toBe(1);
    counts.forget('a');
    expect(counts.get('a')).toBe(0);
    expect(counts.add('a')).toBe(1);
  });

  it('holds at most `capacity` ids, forgetting the least recently failed first', () => {
    const counts = new FailureCounts(3);
    for (const id of ['a', 'b', 'c']) counts.add(id);
    counts.add('a'); // a failed again: b is now the oldest
    counts.add('d');
    expect(counts.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((id) => counts.get(id))).toEqual([2, 0, 1, 1]);
    for (let i = 0; i < 1_000; i++) counts.add(`m${i}`);
    expect(counts.size).toBe(3);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses capacity %s', (capacity) => {
    expect(() => new FailureCounts(capacity)).toThrow(RangeError);
  });
});
