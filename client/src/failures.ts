/**
 * How many times the worker saw each message fail. Zaqar's message objects carry no delivery
 * count (its response schemas forbid one: a claim shows only `id, href, ttl, age, body`), so the
 * worker keeps its own, by message id, to back off the release of a message that keeps failing.
 *
 * Bounded: at most `capacity` ids, the least recently failed forgotten first (a Map keeps
 * insertion order, and a failure re-inserts its id), and an id is forgotten once its message
 * succeeds. A forgotten or never-seen message counts from zero again: the count is a hint for
 * backing off, never a guarantee (another worker, or this one after a restart, starts at zero).
 * NOTE: a Map is all this needs; the client has no runtime dependencies, so no LRU package.
 */
export class FailureCounts {
  private readonly counts = new Map<string, number>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be an integer ≥ 1');
  }

  /** Failures of `id` seen so far (0 if none, or forgotten). */
  get(id: string): number {
    return this.counts.get(id) ?? 0;
  }

  /** Counts one more failure of `id`; returns the new count (1 for a first failure). */
  add(id: string): number {
    const count = this.get(id) + 1;
    this.counts.delete(id);
    this.counts.set(id, count);
    for (const oldest of this.counts.keys()) {
      if (this.counts.size <= this.capacity) break;
      this.counts.delete(oldest);
    }
    return count;
  }

  /** The message succeeded (or is gone): its count is no longer needed. */
  forget(id: string): void {
    this.counts.delete(id);
  }

  /** Ids remembered. */
  get size(): number {
    return this.counts.size;
  }
}
