/**
 * The message listing marker: how far a lister has read in each lane of a queue. Clients treat it
 * as opaque and pass it back unchanged (python-zaqarclient follows the `next` link). Text form:
 * `<lane>.<sequence>` pairs joined by `-`, e.g. `0.17-3.250`; a bare number is lane 0 (the form
 * markers had before queues were spread over lanes). A lane the marker does not name starts at 0.
 */
import { badRequest } from './errors.js';

/** Lane → last sequence read (exclusive lower bound of the next page). */
export type Marker = ReadonlyMap<number, number>;

/** Upper bounds, so a marker cannot be used to make the server do unbounded work. */
const MAX_PAIRS = 256;
const MAX_LANE = 255;
const PAIR_RE = /^(\d{1,3})\.(\d{1,16})$/;
const LEGACY_RE = /^\d{1,16}$/;

const invalid = () => badRequest('The marker is not valid.', 'Invalid parameter');

/** Parses a marker; undefined when absent; 400 when malformed. */
export function parseMarker(raw: string | undefined): Marker | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (LEGACY_RE.test(raw)) {
    if (!Number.isSafeInteger(Number(raw))) throw invalid();
    return new Map([[0, Number(raw)]]);
  }
  const pairs = raw.split('-');
  if (pairs.length > MAX_PAIRS) throw invalid();
  const marker = new Map<number, number>();
  for (const pair of pairs) {
    const m = PAIR_RE.exec(pair);
    if (!m) throw invalid();
    const lane = Number(m[1]);
    const seq = Number(m[2]);
    if (lane > MAX_LANE || !Number.isSafeInteger(seq) || marker.has(lane)) throw invalid();
    marker.set(lane, seq);
  }
  return marker;
}

/** The text form: lanes in order, lanes at 0 left out (they start at 0 anyway). */
export function formatMarker(marker: Marker): string {
  const pairs = [...marker].filter(([, seq]) => seq > 0).sort(([a], [b]) => a - b);
  return pairs.length === 0 ? '0' : pairs.map(([lane, seq]) => `${lane}.${seq}`).join('-');
}
