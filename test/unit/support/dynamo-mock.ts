/**
 * What the mock-based store tests share: a DynamoStore (or a bare StoreContext) over a document
 * client that aws-sdk-client-mock intercepts, the refusals DynamoDB sends back, items built by the
 * store's own builders, and a classifier that tells which builder made an UpdateItem request (the
 * expressions are taken from the builders, so the tests never restate them).
 */
import { ConditionalCheckFailedException, DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, type BatchGetCommandInput, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { ManualClock } from '../../../functions/core/clock.js';
import type { QueueRef } from '../../../functions/core/model.js';
import type { Item } from '../../../functions/store/dynamo/codec.js';
import { createContext, keyString, type StoreContext } from '../../../functions/store/dynamo/context.js';
import {
  addDueRecordsUpdate,
  allocUpdate,
  claimMessageUpdate,
  finishReservationUpdate,
  finishTakeUpdate,
  messageItem,
  registerProducerUpdate,
  releaseMessageUpdate,
  releaseUpdate,
  renewMessageUpdate,
  rescheduleRecord,
  reserveUpdate,
  takeSegmentUpdate,
} from '../../../functions/store/dynamo/requests.js';
import { ATTR as A, laneKey, newMessageId } from '../../../functions/store/dynamo/schema.js';
import { DynamoStore } from '../../../functions/store/dynamo/store.js';

export const TABLE_NAME = 'units';
export const NOW = 1_800_000_000_000;
export const ref: QueueRef = { project: 'p', queue: 'q' };
export const CLIENT = '0123456789abcdef0123456789abcdef';

/** A document client whose sends a `mockClient(DynamoDBDocumentClient)` intercepts (no network). */
export function documentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));
}

export function mockedStore(clock = new ManualClock(NOW), lanesPerQueue = 1): DynamoStore {
  return new DynamoStore({ client: documentClient(), tableName: TABLE_NAME, clock, lanesPerQueue });
}

export function mockedContext(clock = new ManualClock(NOW)): StoreContext {
  return createContext({ client: documentClient(), table: TABLE_NAME, clock, lanesPerQueue: 1 });
}

/**
 * A refused conditional write. With `item`, the old item DynamoDB returns for
 * ReturnValuesOnConditionCheckFailure: ALL_OLD — marshalled, as the document client hands it over
 * (it does not unmarshall exceptions), unless `plain` says otherwise.
 */
export function conditionFailed(item?: Item, plain = false): ConditionalCheckFailedException {
  const err = new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
  if (item) err.Item = plain ? (item as never) : marshall(item, { removeUndefinedValues: true });
  return err;
}

export const throttled = (): ProvisionedThroughputExceededException =>
  new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: { attempts: 5 } });

/** A lane item as the store keeps it (lane 0 also carries the queue's head). */
export const laneItem = (lane: number, fields: Item = {}): Item => ({ ...laneKey(ref, lane), ...fields });
export const headItem = (fields: Item = {}): Item => laneItem(0, { live: true, [A.lanes]: 1, [A.producers]: 1, [A.generation]: 0, ...fields });

/** A message as posted one second before NOW with a 300 s ttl (plus `extra`), built by the store's own builder. */
export function messageAt(lane: number, seq: number, extra: Item = {}): Item {
  const item = messageItem(ref, lane, { seq, id: newMessageId(lane, seq), bodyJson: JSON.stringify({ seq }), ttl: 300, delay: 0 }, CLIENT, NOW - 1_000);
  return { ...item, ...extra };
}

const INTENT = { token: 't', claimId: '-', claimExp: 0, now: 0 };
const KEY = laneKey(ref, 0);

/** The UpdateItem requests of the store, told apart by the expressions their builders write. */
export type UpdateKind =
  | 'lease'
  | 'alloc'
  | 'release'
  | 'releaseCounted'
  | 'register'
  | 'reserve'
  | 'finishReservation'
  | 'counters'
  | 'addDueRecords'
  | 'claim'
  | 'releaseMessage'
  | 'renewMessage'
  | 'takeSegment'
  | 'finishTake'
  | 'reschedule'
  | 'other';

const EXACT: ReadonlyArray<[string | undefined, UpdateKind]> = [
  [allocUpdate(TABLE_NAME, ref, 0, 1, 't', 0).UpdateExpression, 'alloc'],
  [releaseUpdate(TABLE_NAME, ref, 0, 't', 1).UpdateExpression, 'release'],
  [releaseUpdate(TABLE_NAME, ref, 0, 't', 1, { total: 1, dueRecords: 0 }).UpdateExpression, 'releaseCounted'],
  [releaseUpdate(TABLE_NAME, ref, 0, 't', 1, { total: 1, dueRecords: 1, delayed: 1 }).UpdateExpression, 'releaseCounted'],
  [registerProducerUpdate(TABLE_NAME, ref).UpdateExpression, 'register'],
  [reserveUpdate(TABLE_NAME, ref, 0, 1, 0, INTENT).UpdateExpression, 'reserve'],
  [addDueRecordsUpdate(TABLE_NAME, ref, 0, 1).UpdateExpression, 'addDueRecords'],
  [claimMessageUpdate(TABLE_NAME, ref, 0, 1, 'c', 0, 0, 0, true).UpdateExpression, 'claim'],
  [claimMessageUpdate(TABLE_NAME, ref, 0, 1, 'c', 0, 0, 0, false).UpdateExpression, 'claim'],
  [releaseMessageUpdate(TABLE_NAME, ref, 0, 1, 'c').UpdateExpression, 'releaseMessage'],
  [renewMessageUpdate(TABLE_NAME, ref, 0, 1, 'c', 0, 0, 0, true).UpdateExpression, 'renewMessage'],
  [renewMessageUpdate(TABLE_NAME, ref, 0, 1, 'c', 0, 0, 0, false).UpdateExpression, 'renewMessage'],
  [takeSegmentUpdate(TABLE_NAME, KEY, 1, 0, INTENT).UpdateExpression, 'takeSegment'],
  [finishTakeUpdate(TABLE_NAME, KEY, 't', 0).UpdateExpression, 'finishTake'],
  [rescheduleRecord(TABLE_NAME, KEY, 0).UpdateExpression, 'reschedule'],
];
const FINISH_RESERVATION = finishReservationUpdate(TABLE_NAME, ref, 0, 't', 1).UpdateExpression;

export function updateKind(input: { UpdateExpression?: string; ConditionExpression?: string; Key?: Record<string, unknown> }): UpdateKind {
  const expr = input.UpdateExpression ?? '';
  if (input.Key?.pk === '#SWEEP') return 'lease';
  const exact = EXACT.find(([e]) => e === expr);
  if (exact) return exact[1];
  if (expr.startsWith(FINISH_RESERVATION)) return 'finishReservation'; // with or without counters
  if (expr.startsWith('ADD ') && (input.ConditionExpression ?? '').includes('#fl')) return 'counters';
  return 'other';
}

type Values = Record<string, unknown>;
const valuesOf = (input: UpdateCommandInput): Values => (input.ExpressionAttributeValues ?? {}) as Values;
const namesOf = (input: UpdateCommandInput): Record<string, string> => input.ExpressionAttributeNames ?? {};
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** A BatchGetItem answer from `items` (what is not there is simply not returned, as DynamoDB does). */
export function batchGetFrom(items: readonly Item[]) {
  const byKey = new Map(items.map((item) => [keyString(item), item]));
  return async (input: BatchGetCommandInput) => {
    const keys = input.RequestItems?.[TABLE_NAME]?.Keys ?? [];
    return { Responses: { [TABLE_NAME]: keys.map((k) => byKey.get(keyString(k))).filter((i) => i !== undefined).map((i) => ({ ...i })) } };
  };
}

/** The UpdateItem requests of one kind among `calls` (pass `ddb.commandCalls(UpdateCommand)`). */
export const updatesOf = (calls: ReadonlyArray<{ readonly args: readonly [{ readonly input: UpdateCommandInput }] }>, kind: UpdateKind): UpdateCommandInput[] =>
  calls.map((c) => c.args[0].input).filter((input) => updateKind(input) === kind);

/** The expression attribute values of a request (none: empty). */
export const valuesIn = (input: { readonly ExpressionAttributeValues?: Record<string, unknown> }): Record<string, unknown> =>
  input.ExpressionAttributeValues ?? {};

/** The sequence in a message key. */
export const seqOf = (input: { Key?: Record<string, unknown> }): number => Number(input.Key?.[A.sk]);

/**
 * Applies a reserveUpdate to `lane` as DynamoDB evaluates it: the head moves while it is at most
 * `:max`; a refusal carries the lane as it is (ALL_OLD), marshalled unless `plain`.
 */
export function applyReserve(lane: Item, input: UpdateCommandInput, plain = false) {
  const v = valuesOf(input);
  const names = namesOf(input);
  const head = lane[A.head];
  if (head !== undefined && num(head) > num(v[':max'])) throw conditionFailed({ ...lane }, plain);
  lane[names['#r'] as string] = num(head) + 1;
  lane[names['#q'] as string] = v[':info'];
  lane[A.head] = num(head) + num(v[':n']);
  return { Attributes: { ...lane } };
}

/** Applies a takeSegmentUpdate to `segment` as DynamoDB evaluates it (refusals carry the segment, marshalled). */
export function applyTake(segment: Item, input: UpdateCommandInput) {
  const v = valuesOf(input);
  const names = namesOf(input);
  const taken = segment[A.taken];
  if (taken !== undefined && num(taken) > num(v[':max'])) throw conditionFailed({ ...segment });
  segment[names['#w'] as string] = num(taken);
  segment[names['#x'] as string] = v[':info'];
  segment[A.taken] = num(taken) + num(v[':k']);
  segment[A.recordVersion] = num(segment[A.recordVersion]) + 1;
  return { Attributes: { ...segment } };
}

/** Applies a finishTakeUpdate to `segment`: its intent goes, its version moves, the segment comes back. */
export function applyFinishTake(segment: Item, input: UpdateCommandInput) {
  const names = namesOf(input);
  delete segment[names['#w'] as string];
  delete segment[names['#x'] as string];
  segment[A.recordVersion] = num(segment[A.recordVersion]) + 1;
  return { Attributes: { ...segment } };
}
