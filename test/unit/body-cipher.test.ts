/** Sealed message bodies (functions/core/body-cipher.ts): round trips, and nothing that does not authenticate is ever opened. */
import { describe, expect, it } from 'vitest';
import { deriveBodyKey, looksSealed, openBody, sealBody, SEALED_KEY } from '../../functions/core/body-cipher.js';

const key = deriveBodyKey('deployment secret');

describe('sealBody / openBody', () => {
  it.each([[{ a: 1, nested: [true, null] }], ['text ü 🎉'], [0], [null], [false], [[1, 2]], [{}]])('round-trips %j', (body) => {
    const sealed = sealBody(key, 'p1', body);
    expect(looksSealed(sealed)).toBe(true);
    expect(JSON.stringify(sealed)).not.toContain(JSON.stringify(body).slice(1, -1) || 'never');
    expect(openBody(key, 'p1', sealed)).toEqual(body);
  });

  it('seals the same body differently each time (random IV)', () => {
    expect(sealBody(key, 'p1', 'x')).not.toEqual(sealBody(key, 'p1', 'x'));
  });

  it('returns as stored what does not authenticate: another project, another key, a flipped bit, a plain look-alike', () => {
    const sealed = sealBody(key, 'p1', { secret: 1 });
    expect(openBody(key, 'p2', sealed)).toEqual(sealed);
    expect(openBody(deriveBodyKey('another secret'), 'p1', sealed)).toEqual(sealed);
    const raw = Buffer.from(sealed[SEALED_KEY].slice(3), 'base64');
    raw[raw.length - 20] = (raw[raw.length - 20] ?? 0) ^ 1;
    const flipped = { [SEALED_KEY]: `v1.${raw.toString('base64')}` };
    expect(openBody(key, 'p1', flipped)).toEqual(flipped);
    for (const lookAlike of [{ [SEALED_KEY]: 'v1.AAAA' }, { [SEALED_KEY]: 'v1.not base64!' }, { [SEALED_KEY]: 'v2.x' }, { [SEALED_KEY]: 'v1.x', other: 1 }]) {
      expect(openBody(key, 'p1', lookAlike)).toEqual(lookAlike);
    }
  });

  it('leaves plain bodies alone', () => {
    for (const body of [1, 'v1.x', { a: 1 }, [{ [SEALED_KEY]: 'v1.x' }], null]) expect(openBody(key, 'p1', body)).toBe(body);
  });
});
