/**
 * What the sweeper does with each item it read: a pure decision on the item, its queue's
 * floor and the cutoff time, so the rules are unit-tested without a database and the
 * integration tests can replay a stale plan against live data (the worst race there is).
 */
import { CLAIM_SK_PREFIX, MESSAGE_SK_PREFIX, STATE_SK } from '../store/dynamo/keys.js';
import { A } from '../store/dynamo/requests.js';
import { queueRefFromPk, type ItemKey } from './requests.js';

export type SweepAction =
  /** Claim expired or delay ended: back to the available index (conditional on pdue). */
  | { readonly kind: 'restore'; readonly key: ItemKey; readonly seq: number; readonly pdue: number }
  /** Past its effective expiry: delete (conditional on eexp). */
  | { readonly kind: 'expire'; readonly key: ItemKey; readonly eexp: number }
  /** Claim record past expiry + grace: delete (conditional on cexp). */
  | { readonly kind: 'claim'; readonly key: ItemKey; readonly cexp: number }
  /** The partition holds data at or below its floor (purged or deleted queue): clean it up. */
  | { readonly kind: 'floor'; readonly pk: string };

type Item = Record<string, unknown>;

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/**
 * One action per item that needs one (at most one `floor` action per partition), in input order.
 * `floorOf` gives each queue partition's floor; items whose floor is unknown are left alone
 * (the caller reads the state first). Items outside queue partitions are ignored.
 */
export function planActions(items: readonly Item[], floorOf: (pk: string) => number | undefined, cutoff: number): SweepAction[] {
  const actions: SweepAction[] = [];
  const floorPlanned = new Set<string>();
  const planFloor = (pk: string) => {
    if (floorPlanned.has(pk)) return;
    floorPlanned.add(pk);
    actions.push({ kind: 'floor', pk });
  };
  for (const item of items) {
    const pk = item[A.pk];
    const sk = item[A.sk];
    if (typeof pk !== 'string' || typeof sk !== 'string' || sk === STATE_SK) continue;
    if (!queueRefFromPk(pk)) continue;
    const floor = floorOf(pk);
    if (floor === undefined) continue;
    const key = { pk, sk };
    if (sk.startsWith(CLAIM_SK_PREFIX)) {
      const claimFloor = num(item[A.floor]);
      const cexp = num(item[A.claimExp]);
      // NOTE: "older floor" is `<`, not `!==`: a floor read from a scan may be stale, but floors
      // only rise, so a claim below even a stale floor is certainly dead, while one above it is
      // a claim made after the purge that our read has not caught up with.
      if (claimFloor !== undefined && claimFloor < floor) planFloor(pk);
      else if (cexp !== undefined && cexp + (num(item[A.grace]) ?? 0) * 1000 <= cutoff) {
        actions.push({ kind: 'claim', key, cexp });
      }
      continue;
    }
    if (!sk.startsWith(MESSAGE_SK_PREFIX)) continue;
    const seq = num(item[A.seq]);
    const eexp = num(item[A.effExp]);
    if (seq === undefined || eexp === undefined) continue;
    if (seq <= floor) planFloor(pk);
    else if (eexp <= cutoff) actions.push({ kind: 'expire', key, eexp });
    else {
      const pdue = num(item[A.pendDue]);
      if (item[A.pendQueue] !== undefined && pdue !== undefined && pdue <= cutoff) {
        actions.push({ kind: 'restore', key, seq, pdue });
      }
    }
  }
  return actions;
}
