/**
 * Key layout (see docs/design.md). Every key is built here and nowhere else.
 *
 * - Queue registry item  pk = P#<project>        sk = Q#<queue>      (listing, metadata)
 * - Queue state item     pk = Q#<project>#<queue> sk = #STATE        (sequence counter, floor)
 * - Message item         pk = Q#<project>#<queue> sk = M#<seq, 16 digits>
 * - Claim item           pk = Q#<project>#<queue> sk = C#<claim id>
 *
 * NOTE: the project id is percent-encoded, so it can never contain '#', and queue names
 * cannot contain '#' (validated), so no (project, queue) pair can alias another's keys.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { QueueRef } from '../../core/model.js';

const SEQ_DIGITS = 16;
const MESSAGE_ID_RANDOM_BYTES = 12;
const SEQ_HEX = 16;

/** Injective, '#'-free encoding of a project id. Throws URIError on lone surrogates (validated earlier). */
export const encodeProject = (project: string): string => encodeURIComponent(project);

export const projectPk = (project: string): string => `P#${encodeProject(project)}`;
export const queueSk = (queue: string): string => `Q#${queue}`;
export const QUEUE_SK_PREFIX = 'Q#';
export const queuePk = (ref: QueueRef): string => `Q#${encodeProject(ref.project)}#${ref.queue}`;
export const STATE_SK = '#STATE';
export const MESSAGE_SK_PREFIX = 'M#';
export const CLAIM_SK_PREFIX = 'C#';

export const messageSk = (seq: number): string => `${MESSAGE_SK_PREFIX}${String(seq).padStart(SEQ_DIGITS, '0')}`;
export const claimSk = (claimId: string): string => `${CLAIM_SK_PREFIX}${claimId}`;

/**
 * Message ids carry their sequence (so a lookup is one GetItem) plus 96 random bits
 * (so ids cannot be guessed from a marker or a neighbour's id).
 */
export function newMessageId(seq: number): string {
  return seq.toString(16).padStart(SEQ_HEX, '0') + randomBytes(MESSAGE_ID_RANDOM_BYTES).toString('hex');
}

const MESSAGE_ID_RE = new RegExp(`^[0-9a-f]{${SEQ_HEX}}[0-9a-f]{${MESSAGE_ID_RANDOM_BYTES * 2}}$`);

/** The sequence inside a well-formed message id, or undefined for anything else. */
export function seqFromMessageId(id: string): number | undefined {
  if (!MESSAGE_ID_RE.test(id)) return undefined;
  const seq = Number.parseInt(id.slice(0, SEQ_HEX), 16);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
}

export const newClaimId = (): string => randomUUID();
const CLAIM_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isClaimId = (id: string): boolean => CLAIM_ID_RE.test(id);
