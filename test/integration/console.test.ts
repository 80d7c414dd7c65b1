/**
 * The console page over HTTP: one self-contained document, served without credentials, whose
 * Content-Security-Policy admits exactly its own inline script and style. What the page does
 * in a browser is test/browser/console.test.ts.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let anonymous: Client;
beforeAll(async () => {
  stack = await startTestStack();
  anonymous = new Client(stack.url, 'unused');
});
afterAll(async () => stack.stop());

const get = (headers: Record<string, string> = {}, path = '/console') => anonymous.get(path, { clientId: null, project: null, headers });
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64');
const inline = (html: string, tag: 'script' | 'style'): string[] =>
  [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1] as string);

describe('GET /console', () => {
  it('serves the page without Client-ID, project or token', async () => {
    const r = await get();
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.text).toMatch(/^<!doctype html>/);
    expect(r.text).toContain('<title>Cloud Queues console</title>');
  });

  it('sends a CSP that admits exactly its inline script and style, and nothing from elsewhere', async () => {
    const r = await get();
    const csp = Object.fromEntries(
      (r.headers.get('content-security-policy') ?? '').split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/);
        return [name, values];
      }),
    );
    const [script, ...moreScripts] = inline(r.text, 'script');
    const [style, ...moreStyles] = inline(r.text, 'style');
    expect(moreScripts).toEqual([]);
    expect(moreStyles).toEqual([]);
    expect(csp).toEqual({
      'default-src': ["'none'"],
      'script-src': [`'sha256-${sha256(script ?? '')}'`],
      'style-src': [`'sha256-${sha256(style ?? '')}'`],
      'connect-src': ["'self'"],
      'img-src': ['data:'],
      'base-uri': ["'none'"],
      'form-action': ["'none'"],
      'frame-ancestors': ["'none'"],
    });
    // Inline handlers and style attributes would be refused by that policy: the page has none.
    expect(r.text).not.toMatch(/\son[a-z]+=|\sstyle=/i);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
  });

  it('is revalidated on each load: no-cache with an ETag, 304 when it matches', async () => {
    const first = await get();
    const etag = first.headers.get('etag') as string;
    expect(first.headers.get('cache-control')).toBe('no-cache');
    expect(etag).toMatch(/^"[\w-]+"$/);
    for (const tag of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const again = await get({ 'If-None-Match': tag });
      expect(again.status, tag).toBe(304);
      expect(again.text).toBe('');
      expect(again.headers.get('etag')).toBe(etag);
    }
    expect((await get({ 'If-None-Match': '"other"' })).status).toBe(200);
  });

  it.each([
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 200],
    ['text/*', 200],
    ['application/json', 406],
    ['text/html;q=0', 406],
  ])('Accept: %s → %i', async (accept, status) => {
    const r = await get({ Accept: accept });
    expect(r.status).toBe(status);
    if (status === 406) expect(r.json).toEqual({ title: 'Media type not acceptable', description: expect.stringContaining('text/html') });
  });

  it('tolerates a trailing slash, and answers other methods 405 with Allow', async () => {
    expect((await get({}, '/console/')).status).toBe(200);
    const r = await anonymous.post('/console', { clientId: null, project: null });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET');
  });
});
