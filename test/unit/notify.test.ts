/**
 * Pure parts of push delivery: Zaqar's retry-policy arithmetic (the delays, hence the number of
 * attempts), which policy wins, and the webhook request's address guard at delivery time (a
 * subscriber accepted earlier is re-checked on every attempt, on the address really dialled).
 */
import { describe, expect, it } from 'vitest';
import { backoffSeries, effectivePolicy, retryDelays, withDefaults } from '../../functions/core/retry-policy.js';
import { LOCAL_DEFAULT, PUBLIC_ONLY } from '../../functions/notify/ssrf.js';
import { postWebhook } from '../../functions/notify/webhook.js';
import { startReceiver } from '../support/receiver.js';

describe('retry policy (Zaqar webhook.py)', () => {
  it('backoff series for minimum 5, maximum 30, as Zaqar computes them', () => {
    expect(backoffSeries('linear', 5, 30)).toEqual([5, 10, 15, 20, 25]);
    expect(backoffSeries('arithmetic', 5, 30)).toEqual([5, 7, 12, 20, 30]);
    expect(backoffSeries('geometric', 5, 30)).toEqual([5, 7, 12, 19, 30]);
    expect(backoffSeries('exponential', 5, 30)).toEqual([5, 7, 12, 19, 30]);
  });

  it('the defaults: 3 at once, 3 after 5 s, the linear backoff, 3 after 30 s: 15 attempts over 3 minutes', () => {
    const delays = retryDelays(withDefaults(undefined));
    expect(delays).toEqual([0, 0, 0, 5, 5, 5, 5, 10, 15, 20, 25, 30, 30, 30]);
    expect(delays.reduce((a, b) => a + b, 0)).toBe(180);
  });

  it('a subscription’s policy overrides the queue’s unless either says ignore_subscription_override', () => {
    const queue = { retries_with_no_delay: 1 };
    const sub = { retries_with_no_delay: 2 };
    expect(effectivePolicy(sub, queue).retries_with_no_delay).toBe(2);
    expect(effectivePolicy(undefined, queue).retries_with_no_delay).toBe(1);
    expect(effectivePolicy({}, queue).retries_with_no_delay).toBe(1);
    expect(effectivePolicy(sub, { ...queue, ignore_subscription_override: true }).retries_with_no_delay).toBe(1);
    expect(effectivePolicy({ ...sub, ignore_subscription_override: true }, queue).retries_with_no_delay).toBe(1);
    expect(effectivePolicy(undefined, undefined).retries_with_no_delay).toBe(3);
  });
});

describe('webhook address guard at delivery time', () => {
  it('a deployment refuses loopback at delivery, by IP literal and by name, without connecting', async () => {
    const receiver = await startReceiver();
    try {
      const port = new URL(receiver.url).port;
      const settings = { addresses: PUBLIC_ONLY, timeoutMs: 5_000 };
      for (const url of [receiver.url, `http://localhost:${port}/hook`]) {
        const outcome = await postWebhook({ url, body: '{}', headers: {} }, settings);
        expect(outcome, url).toMatchObject({ ok: false, retryable: false });
      }
      expect(receiver.received).toHaveLength(0);
      // Local mode allows loopback: the same request is delivered.
      expect(await postWebhook({ url: receiver.url, body: '{}', headers: {} }, { addresses: LOCAL_DEFAULT, timeoutMs: 5_000 })).toMatchObject({ ok: true });
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('a redirect is final (never followed), a 503 or 429 may be retried, a 404 may not', async () => {
    const receiver = await startReceiver();
    try {
      const settings = { addresses: LOCAL_DEFAULT, timeoutMs: 5_000 };
      const statuses = [302, 503, 429, 404];
      receiver.answer((_req, nth) => ({ status: statuses[nth] ?? 200 }));
      const outcomes = [];
      for (const _ of statuses) outcomes.push(await postWebhook({ url: receiver.url, body: '{}', headers: {} }, settings));
      expect(outcomes.map((o) => (o.ok ? 'ok' : o.retryable))).toEqual([false, true, true, false]);
    } finally {
      await receiver.close();
    }
  });
});
