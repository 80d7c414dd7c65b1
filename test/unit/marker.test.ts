/**
 * The message listing marker (functions/core/marker.ts): per-lane positions in an opaque text
 * that clients pass back unchanged. Round trips, the legacy bare number, and a table of every
 * malformed form, each a 400 with Zaqar's "Invalid parameter" title (never a plain Error, which
 * the HTTP layer would answer with a 503).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../functions/core/errors.js';
import { formatMarker, parseMarker, type Marker } from '../../functions/core/marker.js';
import { errorResponse } from '../../functions/http/errors.js';

function expectInvalid(raw: string): void {
  let thrown: unknown;
  try {
    parseMarker(raw);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ApiError);
  const res = errorResponse(thrown);
  expect(res.statusCode).toBe(400);
  expect(JSON.parse(res.body ?? '')).toEqual({ title: 'Invalid parameter', description: 'The marker is not valid.' });
}

const markers: fc.Arbitrary<Marker> = fc
  .uniqueArray(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })), {
    selector: ([lane]) => lane,
    maxLength: 256,
  })
  .map((pairs) => new Map(pairs));

describe('parseMarker', () => {
  it('absent or empty: no marker (start at the head of every lane)', () => {
    expect(parseMarker(undefined)).toBeUndefined();
    expect(parseMarker('')).toBeUndefined();
  });

  it('a bare number is lane 0 (markers before queues spread over lanes)', () => {
    expect(parseMarker('42')).toEqual(new Map([[0, 42]]));
    expect(parseMarker('0')).toEqual(new Map([[0, 0]]));
    expect(parseMarker('1'.repeat(16))).toEqual(new Map([[0, 1_111_111_111_111_111]]));
  });

  it('lane.sequence pairs, any order', () => {
    expect(parseMarker('0.17-3.250')).toEqual(
      new Map([
        [0, 17],
        [3, 250],
      ]),
    );
    expect(parseMarker('3.250-0.17')).toEqual(parseMarker('0.17-3.250'));
    expect(parseMarker('255.1')).toEqual(new Map([[255, 1]]));
    expect(parseMarker('1.0')).toEqual(new Map([[1, 0]]));
    expect(parseMarker(`0.${Number.MAX_SAFE_INTEGER}`)).toEqual(new Map([[0, Number.MAX_SAFE_INTEGER]]));
  });

  it('bounds: every lane of a queue may be named once (256 pairs), no more', () => {
    const all = Array.from({ length: 256 }, (_, lane) => `${lane}.1`);
    expect(parseMarker(all.join('-'))?.size).toBe(256);
    expectInvalid([...all, '0.2'].join('-'));
    expectInvalid(Array.from({ length: 257 }, () => '1.1').join('-'));
  });

  it.each([
    ['letters', 'abc'],
    ['a negative number', '-1'],
    ['a lane without a sequence', '1.'],
    ['a sequence without a lane', '.1'],
    ['two dots', '1..2'],
    ['three parts', '1.2.3'],
    ['a trailing separator', '0.1-'],
    ['a leading separator', '-0.1'],
    ['an empty pair', '0.1--1.2'],
    ['a pair that is not one', '0.1-x'],
    ['a bare number among pairs', '0.1-5'],
    ['another separator', '0.1,1.2'],
    ['white space before', ' 1'],
    ['white space after', '1 '],
    ['a trailing newline', '1\n'],
    ['a sign', '+1'],
    ['an exponent', '1e3'],
    ['hex', '0x10'],
    ['non-ASCII digits', '٣'],
    ['a legacy number of 17 digits', '1'.repeat(17)],
    ['a sequence of 17 digits', `0.${'1'.repeat(17)}`],
    ['a sequence beyond safe integers', `0.${Number.MAX_SAFE_INTEGER + 1}`],
    ['a lane of 4 digits', '1000.1'],
    ['a lane beyond 255', '256.1'],
    ['a duplicated lane', '0.1-0.2'],
    ['a duplicated lane, written differently', '00.1-0.2'],
  ])('%s is 400 (%j)', (_what, raw) => {
    expectInvalid(raw);
  });

  it('a legacy number beyond safe integers is 400, as the same sequence in a pair is', () => {
    expectInvalid('9999999999999999');
  });
});

describe('formatMarker', () => {
  it('lanes in order, lanes at 0 left out', () => {
    expect(
      formatMarker(
        new Map([
          [3, 250],
          [0, 17],
          [7, 0],
        ]),
      ),
    ).toBe('0.17-3.250');
  });

  it('nothing read yet: "0" (a marker clients can pass back)', () => {
    expect(formatMarker(new Map())).toBe('0');
    expect(formatMarker(new Map([[5, 0]]))).toBe('0');
    expect(parseMarker(formatMarker(new Map()))).toEqual(new Map([[0, 0]]));
  });

  it('parse(format(m)) is m for every marker', () => {
    fc.assert(
      fc.property(markers, (m) => {
        const parsed = parseMarker(formatMarker(m));
        if (m.size === 0) expect(parsed).toEqual(new Map([[0, 0]]));
        else expect(parsed).toEqual(m);
      }),
    );
  });

  it('format(parse(text)) is text for every marker the service hands out', () => {
    fc.assert(
      fc.property(markers, (m) => {
        const text = formatMarker(m);
        expect(formatMarker(parseMarker(text) as Marker)).toBe(text);
      }),
    );
  });
});
