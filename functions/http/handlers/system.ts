/** Versions, home document, OpenAPI, ping, health and the web console page. */
import { ApiError } from '../../core/errors.js';
import { CONSOLE_PAGE } from '../console-page.generated.js';
import type { RouteHandler } from '../context.js';
import { buildHomeDocument } from '../home.js';
import { buildOpenApi } from '../openapi.js';
import { empty, header, json } from '../request.js';
import { SERVICE_UNAVAILABLE } from '../errors.js';

const V2 = {
  id: '2',
  status: 'CURRENT',
  updated: '2014-9-24T04:06:47Z',
  'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.messaging-v2+json' }],
  links: [{ href: '/v2/', rel: 'self' }],
};

export const versions: RouteHandler = async () => json(300, { versions: [V2] });

export const home: RouteHandler = async () =>
  json(200, buildHomeDocument(), { 'content-type': 'application/json-home', 'cache-control': 'max-age=86400' });

let openApiCache: string | undefined;
export const openapi: RouteHandler = async () => {
  openApiCache ??= JSON.stringify(buildOpenApi());
  return { statusCode: 200, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: openApiCache };
};

async function storageUp(ctx: Parameters<RouteHandler>[0]): Promise<boolean> {
  try {
    await ctx.deps.store.ping();
    return true;
  } catch (err) {
    ctx.deps.log.error('storage ping failed', { error: err instanceof Error ? err.message : String(err) });
    return false;
  }
}

export const ping: RouteHandler = async (ctx) => (await storageUp(ctx) ? empty(204) : empty(503));

export const health: RouteHandler = async (ctx) => {
  if (!(await storageUp(ctx))) {
    throw new ApiError('service-unavailable', SERVICE_UNAVAILABLE.title, 'Health status could not be read. Please try again in a few seconds.');
  }
  return json(200, { storage_reachable: true, catalog_reachable: true, operation_status: {} });
};

/**
 * Headers of the console page. The CSP admits only the page's own inline script and style (by
 * hash, computed when the page is built) and requests to this origin: an injected tag or a
 * message body that slipped into the DOM as HTML could neither run nor send data elsewhere.
 * `no-cache` revalidates on every load, so a deployment's new page is used at once; the ETag
 * makes that a 304.
 */
const CONSOLE_HEADERS = {
  'content-security-policy': CONSOLE_PAGE.contentSecurityPolicy,
  'cache-control': 'no-cache',
  etag: CONSOLE_PAGE.etag,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
} as const;

/** If-None-Match names the current ETag (weak or strong, in a list, or `*`). */
function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}

export const consolePage: RouteHandler = async (ctx) => {
  if (notModified(header(ctx.event, 'if-none-match'), CONSOLE_PAGE.etag)) return empty(304, { ...CONSOLE_HEADERS });
  return { statusCode: 200, headers: { ...CONSOLE_HEADERS, 'content-type': 'text/html; charset=utf-8' }, body: CONSOLE_PAGE.html };
};
