/** Versions, home document, OpenAPI, ping and health. */
import { ApiError } from '../../core/errors.js';
import type { RouteHandler } from '../context.js';
import { buildHomeDocument } from '../home.js';
import { buildOpenApi } from '../openapi.js';
import { empty, json } from '../request.js';
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
