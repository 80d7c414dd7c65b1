/**
 * The HTTP application: middy + @middy/http-router over (a slice of) the route table.
 * Lambda entry points and the local server both call `createApi`, so the same code answers
 * in AWS and on a laptop.
 */
import middy from '@middy/core';
import httpRouterHandler from '@middy/http-router';
import type { Context } from 'aws-lambda';
import { ApiError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import type { Deps, HandlerContext } from './context.js';
import { errorResponse } from './errors.js';
import { HANDLERS } from './handlers/index.js';
import { header, rawBody, type HttpEvent, type HttpResponse } from './request.js';
import { methodsAt, ROUTES, type Route } from './routes.js';
import { byteLength, normalizeClientId, validateProjectId } from './validation.js';

/** The Accept ranges that admit a route's answer: JSON (and JSON-home) unless the route produces another type. */
function acceptedRanges(produces: string | undefined): string[] {
  const types = produces === undefined ? ['application/json', 'application/json-home'] : [produces];
  return ['*/*', ...types, ...types.map((t) => `${t.split('/')[0]}/*`)];
}

/** Accept must allow what the route answers with (a missing Accept does); `produces` defaults to JSON. */
export function acceptsAnswer(accept: string | undefined, produces?: string): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  const ranges = acceptedRanges(produces);
  return accept.split(',').some((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) return false;
    return ranges.includes(type);
  });
}

/** The tenant: the authenticated identity in a deployment, the X-Project-ID header where trusted. */
function resolveProject(event: HttpEvent, deps: Deps, route: Route): string {
  if (deps.config.trustProjectHeader) return validateProjectId(header(event, 'x-project-id'));
  const auth = event.requestContext.authorizer;
  const claim = auth?.jwt?.claims?.[deps.config.projectClaim];
  const fromIdentity = typeof claim === 'string' ? claim : (auth?.iam?.accountId ?? undefined);
  if (fromIdentity === undefined) {
    if (route.public) return '';
    throw new ApiError('unauthorized', 'Unauthorized', 'The request carries no project identity.');
  }
  return validateProjectId(fromIdentity);
}

function prepare(event: HttpEvent, deps: Deps, route: Route): HandlerContext {
  if (byteLength(rawBody(event)) > LIMITS.REQUEST_BODY_HARD_MAX_BYTES) {
    throw new ApiError('payload-too-large', 'Request entity too large', `Request bodies may not exceed ${LIMITS.REQUEST_BODY_HARD_MAX_BYTES} bytes.`);
  }
  if (!acceptsAnswer(header(event, 'accept'), route.produces)) {
    throw new ApiError(
      'not-acceptable',
      'Media type not acceptable',
      `Endpoint only serves \`${route.produces ?? 'application/json'}\`; specify client-side media type support with the "Accept" header.`,
    );
  }
  if (route.anonymous) return { event, project: '', clientId: '', deps };
  const clientId = normalizeClientId(header(event, 'client-id'));
  return { event, project: resolveProject(event, deps, route), clientId, deps };
}

export type ApiHandler = (event: HttpEvent, context?: Context) => Promise<HttpResponse>;

export function createApi(deps: Deps, routes: readonly Route[] = ROUTES): ApiHandler {
  const router = httpRouterHandler({
    routes: routes.map((route) => ({
      method: route.method,
      path: route.path,
      // The router is typed for every API Gateway shape; ours are always HTTP API 2.0 events.
      handler: ((event: HttpEvent) => HANDLERS[route.id](prepare(event, deps, route))) as never,
    })),
    notFoundResponse: ({ path }: { method: string; path: string }) => {
      const allowed = methodsAt(path);
      if (allowed.length > 0) {
        throw new ApiError('method-not-allowed', 'Method not allowed', 'The method is not allowed for this resource.', {
          headers: { allow: allowed.join(', ') },
        });
      }
      throw new ApiError('not-found', 'Not found', 'The requested resource could not be found.');
    },
  });
  const handler = middy<HttpEvent, HttpResponse>()
    .onError((request) => {
      request.response = errorResponse(request.error, deps.log);
    })
    .handler(router as unknown as (event: HttpEvent) => Promise<HttpResponse>);
  return async (event, context) => {
    const response = await handler(event, (context ?? {}) as Context);
    // HEAD answers carry no body (RFC 9110); the status and headers are those of GET.
    return event.requestContext.http.method === 'HEAD' ? { ...response, body: '' } : response;
  };
}

