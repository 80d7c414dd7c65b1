/**
 * API Gateway sends `/v2/` (where python-zaqarclient asks for the home document) to `$default`,
 * not to the `/v2` route: the fallback function must serve the storage-free routes itself.
 */
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { fallback } from '../../functions/entry/api.js';
import { event } from './support.js';

const context = { awsRequestId: 'lambda-req', functionName: 'fn', functionVersion: '$LATEST', memoryLimitInMB: '512' } as Context;

describe('fallback serves storage-free routes for path variants', () => {
  it.each([
    ['/v2/', 200],
    ['/v2/openapi.json/', 200],
    ['/console/', 200],
  ])('GET %s → %i without a table', async (path, status) => {
    const res = await fallback(event('GET', path), context);
    expect(res.statusCode).toBe(status);
  });

  it('answers ping itself with 405, never touching storage', async () => {
    const res = await fallback(event('DELETE', '/v2/ping'), context);
    expect(res.statusCode).toBe(405);
  });
});
