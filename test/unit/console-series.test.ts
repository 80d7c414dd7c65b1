/** The console's pure parts: samples and flow, axis and age formatting, marker paging, the API client's calls. */
import { describe, expect, it } from 'vitest';
import { Api, ApiError, markerOf } from '../../console/src/api.js';
import {
  addSample,
  chartSpan,
  describeChart,
  formatAge,
  formatOffset,
  formatRate,
  MIN_SPAN_MS,
  netFlow,
  niceCeiling,
  Pager,
  WINDOW_MS,
  type Sample,
} from '../../console/src/series.js';

const sample = (t: number, total: number, claimed = 0): Sample => ({ t, free: total - claimed, claimed, total });

describe('samples', () => {
  it('keeps the last WINDOW_MS of samples and drops out-of-order ones', () => {
    let samples: Sample[] = [];
    for (const t of [0, 1_000, 2_000]) samples = addSample(samples, sample(t, 1));
    expect(addSample(samples, sample(1_500, 9))).toEqual(samples);
    expect(addSample(samples, sample(2_000, 9))).toEqual(samples);
    expect(addSample(samples, sample(WINDOW_MS + 1_000, 2)).map((s) => s.t)).toEqual([2_000, WINDOW_MS + 1_000]);
  });

  it('net flow is the change in total per second between consecutive samples', () => {
    const flows = netFlow([sample(0, 10), sample(2_000, 14), sample(6_000, 12), sample(7_000, 12)]);
    expect(flows).toEqual([
      { from: 0, to: 2_000, perSecond: 2 },
      { from: 2_000, to: 6_000, perSecond: -0.5 },
      { from: 6_000, to: 7_000, perSecond: 0 },
    ]);
    expect(netFlow([sample(0, 3)])).toEqual([]);
  });

  it('the time axis spans the samples, at least MIN_SPAN_MS, at most WINDOW_MS', () => {
    expect(chartSpan([], 5_000)).toBe(MIN_SPAN_MS);
    expect(chartSpan([sample(0, 1)], 5_000)).toBe(MIN_SPAN_MS);
    expect(chartSpan([sample(0, 1)], 150_000)).toBe(150_000);
    expect(chartSpan([sample(0, 1)], WINDOW_MS * 2)).toBe(WINDOW_MS);
  });

  it('describes the chart in words', () => {
    expect(describeChart([])).toBe('No samples yet.');
    expect(describeChart([sample(0, 4, 1)])).toBe('Now 4 messages: 3 free, 1 claimed. 1 sample over less than a minute.');
    expect(describeChart([sample(0, 4, 1), sample(120_000, 10, 2)])).toBe(
      'Now 10 messages: 8 free, 2 claimed. Net flow since the previous sample: +0.05/s. 2 samples over 2 min.',
    );
  });
});

describe('formatting', () => {
  it.each([
    [0, 1],
    [0.3, 0.5],
    [1, 1],
    [1.01, 2],
    [3, 5],
    [7, 10],
    [62, 100],
    [100, 100],
    [1_234, 2_000],
  ])('niceCeiling(%d) = %d', (n, want) => expect(niceCeiling(n)).toBe(want));

  it.each([
    [undefined, '—'],
    [-1, '—'],
    [0, '0s'],
    [59, '59s'],
    [60, '1m 00s'],
    [3_599, '59m 59s'],
    [3_600, '1h 00m'],
    [86_399, '23h 59m'],
    [90_000, '1d 01h'],
  ])('formatAge(%s) = %s', (s, want) => expect(formatAge(s)).toBe(want));

  it.each([
    [0, '0/s'],
    [0.001, '0/s'],
    [1.256, '+1.26/s'],
    [-0.5, '\u22120.5/s'],
  ])('formatRate(%d) = %s', (r, want) => expect(formatRate(r)).toBe(want));

  it.each([
    [0, 'now'],
    [45_000, '\u221245 s'],
    [150_000, '\u22122.5 min'],
    [600_000, '\u221210 min'],
  ])('formatOffset(%d) = %s', (ms, want) => expect(formatOffset(ms)).toBe(want));
});

describe('Pager', () => {
  it('goes forward through markers it is given and back through those it has seen', () => {
    const p = new Pager();
    expect([p.index, p.current, p.hasPrevious]).toEqual([0, undefined, false]);
    p.forward(); // no next page: stays
    expect(p.index).toBe(0);
    p.next = 'm5';
    p.forward();
    p.next = 'm10';
    p.forward();
    expect([p.index, p.current, p.next]).toEqual([2, 'm10', undefined]);
    p.back();
    expect([p.index, p.current]).toEqual([1, 'm5']);
    p.back();
    p.back(); // already first
    expect([p.index, p.current, p.hasPrevious]).toEqual([0, undefined, false]);
    p.next = 'm5';
    p.forward();
    p.first();
    expect([p.index, p.current, p.next]).toEqual([0, undefined, undefined]);
  });
});

describe('console API client', () => {
  type Call = { url: string; init: RequestInit };
  const fake = (status: number, body: unknown, calls: Call[] = []) =>
    (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(body === undefined ? null : JSON.stringify(body), { status });
    }) as unknown as typeof fetch;

  it('sends Client-ID always, X-Project-ID and the bearer token only when given', async () => {
    const calls: Call[] = [];
    await new Api('/v2', { clientId: 'c', project: 'p', token: '' }, fake(204, undefined, calls)).purge('q');
    await new Api('/base/v2', { clientId: 'c', project: '', token: 't' }, fake(204, undefined, calls)).deleteQueue('a b');
    expect(calls.map((c) => [c.url, c.init.method, c.init.headers])).toEqual([
      ['/v2/queues/q/purge', 'POST', { 'Client-ID': 'c', Accept: 'application/json', 'X-Project-ID': 'p', 'Content-Type': 'application/json' }],
      ['/base/v2/queues/a%20b', 'DELETE', { 'Client-ID': 'c', Accept: 'application/json', Authorization: 'Bearer t' }],
    ]);
  });

  it('lists messages as an observer (echo=true), with the toggles, and knows a short page is the last', async () => {
    const calls: Call[] = [];
    const links = [{ rel: 'next', href: '/v2/queues/q/messages?marker=7&limit=2' }];
    const full = await new Api('/v2', { clientId: 'c', project: 'p', token: '' }, fake(200, { messages: [{}, {}], links }, calls)).listMessages('q', {
      limit: 2,
      includeClaimed: true,
      includeDelayed: false,
      marker: '5',
    });
    expect(calls[0]?.url).toBe('/v2/queues/q/messages?limit=2&echo=true&include_claimed=true&include_delayed=false&marker=5');
    expect(full.next).toBe('7');
    const short = await new Api('/v2', { clientId: 'c', project: 'p', token: '' }, fake(200, { messages: [{}], links })).listMessages('q', {
      limit: 2,
      includeClaimed: false,
      includeDelayed: false,
    });
    expect(short.next).toBeUndefined();
    expect(markerOf('/v2/queues?marker=abc&limit=20')).toBe('abc');
  });

  it.each([
    [400, { title: 'Invalid API request', description: 'Bad name.' }, 'Invalid API request: Bad name.'],
    [401, { message: 'Unauthorized' }, 'Unauthorized'],
    [503, undefined, 'HTTP 503'],
  ])('turns a %i into an ApiError', async (status, body, message) => {
    const api = new Api('/v2', { clientId: 'c', project: 'p', token: '' }, fake(status, body));
    const err = await api.stats('q').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(status);
    expect((err as ApiError).message).toBe(message);
  });

  it('reports a network failure as status 0', async () => {
    const failing = (async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch;
    const err = await new Api('/v2', { clientId: 'c', project: 'p', token: '' }, failing).stats('q').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, title: 'Network error', description: 'Failed to fetch' });
  });
});
