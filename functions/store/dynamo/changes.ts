/**
 * What the notifier reads from the table's stream (NEW_IMAGE), decoded: a posted message (the
 * INSERT of a message item: PutItem into an `M#<project>#<queue>#<lane>` partition, never a
 * tombstone), or a confirmation request (the INSERT of a `K#` item in a subscriptions partition).
 * Every other change — lanes, records, claims, updates and deletes — is none of its business.
 * Pure: the image is already unmarshalled.
 */
import type { QueueRef } from '../../core/model.js';
import type { ConfirmationKind } from '../../core/subscriptions.js';
import { num, str, type Item } from './codec.js';
import { ATTR as A, CONFIRMATION_SK_PREFIX, parseLanePk, parseSubscriptionsPk, PART, SUBSCRIPTIONS_PREFIX } from './schema.js';

export interface PostedMessage {
  readonly kind: 'message';
  readonly ref: QueueRef;
  readonly id: string;
  /** Seconds, as posted. */
  readonly ttl: number;
  /** The body's JSON text as stored (sealed when the queue encrypts). */
  readonly body: string;
  readonly createdAt: number;
  /** Delay end (ms) of a delayed message. */
  readonly delayedUntil?: number;
}

export interface ConfirmationRequest {
  readonly kind: 'confirmation';
  readonly ref: QueueRef;
  readonly subscriptionId: string;
  readonly confirmation: ConfirmationKind;
}

export type TableChange = PostedMessage | ConfirmationRequest;

const CONFIRMATIONS: readonly string[] = ['SubscriptionConfirmation', 'UnsubscribeConfirmation'];

/**
 * Prefixes of the partition keys whose INSERTs the notifier acts on: the stream's event filter
 * (lib/notifier.ts) passes only these, so Lambda is not even invoked for the rest.
 */
export const NOTIFYING_PREFIXES = { messages: PART.messages, subscriptions: SUBSCRIPTIONS_PREFIX } as const;
/** The attribute a tombstone carries (a filter excludes items that have it). */
export const TOMBSTONE_ATTRIBUTE = A.tombstone;

/** The change an event stands for, or undefined when the notifier has nothing to do with it. */
export function decodeChange(eventName: string | undefined, image: Item | undefined): TableChange | undefined {
  if (eventName !== 'INSERT' || !image) return undefined;
  const pk = str(image[A.pk]);
  const sk = str(image[A.sk]);
  if (pk === undefined || sk === undefined) return undefined;
  const lane = parseLanePk(pk);
  if (lane?.part === PART.messages) {
    const id = str(image[A.id]);
    const body = str(image[A.body]);
    if (image[A.tombstone] !== undefined || id === undefined || body === undefined) return undefined;
    const due = image[A.due];
    return {
      kind: 'message',
      ref: lane.ref,
      id,
      ttl: num(image[A.msgTtl]),
      body,
      createdAt: num(image[A.created]),
      ...(typeof due === 'number' ? { delayedUntil: due } : {}),
    };
  }
  const ref = parseSubscriptionsPk(pk);
  if (ref && sk.startsWith(CONFIRMATION_SK_PREFIX)) {
    const subscriptionId = str(image[A.subscriptionId]);
    const confirmation = str(image[A.confirmation]);
    if (subscriptionId === undefined || confirmation === undefined || !CONFIRMATIONS.includes(confirmation)) return undefined;
    return { kind: 'confirmation', ref, subscriptionId, confirmation: confirmation as ConfirmationKind };
  }
  return undefined;
}
