/**
 * The HTTP application: middy + @middy/http-router over (a slice of) the route table.
 * Lambda entry points and the local server both call `createApi`, so the same code answers
 * in AWS and on a laptop.
 */
import middy from '@middy/core';
import httpRouterHandler from '@middy/http-router';
import type { Context } from 'aws-lambda';
import { verdictFromContext, verifySignature, type Verdict } from '../auth/authenticate.js';
import { isSignedRequest, type SignedRequest } from '../auth/signed-url.js';
import { ApiError, notFound } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import type { Deps, HandlerContext } from './context.js';
import { errorResponse, SERVICE_UNAVAILABLE } from './errors.js';
import { HANDLERS } from './handlers/index.js';
import { bodyByteLength, header, rawBody, type HttpEvent, type HttpResponse } from './request.js';
import { methodsAt, ROUTES, type Route } from './routes.js';
import { normalizeClientId, validateProjectId } from './validation.js';

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

/** The request as the signature check sees it (raw path, as signed). */
const signedRequestOf = (event: HttpEvent): SignedRequest => ({
  method: event.requestContext.http.method,
  path: event.rawPath ?? event.requestContext.http.path,
  header: (name) => header(event, name),
});

/**
 * How the request is authenticated, before anything else is read. In trusted-header mode only a
 * signed URL is checked here (else the X-Project-ID header names the tenant); behind the Lambda
 * authorizer its verdict arrives in the authorizer context. Public routes carry no tenant data
 * and are not authenticated (a signature on them is ignored).
 */
async function identify(event: HttpEvent, deps: Deps, route: Route): Promise<Verdict | undefined> {
  if (route.public) return undefined;
  if (deps.config.trustProjectHeader) {
    const req = signedRequestOf(event);
    return isSignedRequest(req) ? verifySignature(req, { secrets: deps.secrets, now: () => deps.clock.now() }) : undefined;
  }
  return verdictFromContext(event.requestContext.authorizer?.lambda);
}

function refuse(verdict: Verdict | undefined, deps: Deps): void {
  if (!verdict || !('denied' in verdict)) return;
  if (verdict.denied === 'not-found') {
    deps.log.info('signed request refused', { reason: verdict.reason });
    // Zaqar's answer to any signed URL that does not hold: tampered, expired, other path, method or project.
    throw notFound();
  }
  if (verdict.denied === 'unavailable') {
    deps.log.error('authentication unavailable', { reason: verdict.reason });
    throw new ApiError('service-unavailable', SERVICE_UNAVAILABLE.title, 'Credentials could not be checked. Please try again in a few seconds.');
  }
}

/** The tenant: the authenticated project, or (trusted-header mode, no signature) the X-Project-ID header. */
function resolveProject(event: HttpEvent, deps: Deps, route: Route, verdict: Verdict | undefined): string {
  if (verdict && 'project' in verdict) return validateProjectId(verdict.project);
  if (deps.config.trustProjectHeader) return validateProjectId(header(event, 'x-project-id'));
  if (route.public) return '';
  throw new ApiError('unauthorized', 'Unauthorized', 'The request carries no valid credentials.');
}

/**
 * Everything checked before a handler runs, in Zaqar's order: a signed URL that does not hold is
 * 404 before anything else is looked at; then the body (size, UTF-8), Accept, Client-ID, project.
 */
async function prepare(event: HttpEvent, deps: Deps, route: Route, lambda: Context | undefined): Promise<HandlerContext> {
  if (bodyByteLength(event) > LIMITS.REQUEST_BODY_HARD_MAX_BYTES) {
    throw new ApiError('payload-too-large', 'Request entity too large', `Request bodies may not exceed ${LIMITS.REQUEST_BODY_HARD_MAX_BYTES} bytes.`);
  }
  const verdict = await identify(event, deps, route);
  refuse(verdict, deps);
  // Invalid UTF-8 is a 400 on every route, whether or not the route reads its body.
  rawBody(event);
  if (!acceptsAnswer(header(event, 'accept'), route.produces)) {
    throw new ApiError(
      'not-acceptable',
      'Media type not acceptable',
      `Endpoint only serves \`${route.produces ?? 'application/json'}\`; specify client-side media type support with the "Accept" header.`,
    );
  }
  if (route.anonymous) return { event, project: '', clientId: '', deps };
  const clientId = normalizeClientId(header(event, 'client-id'));
  // A long poll never outlives its invocation (functions/http/long-poll.ts).
  const remaining = typeof lambda?.getRemainingTimeInMillis === 'function' ? { remainingMs: () => lambda.getRemainingTimeInMillis() } : {};
  return { event, project: resolveProject(event, deps, route, verdict), clientId, deps, ...remaining };
}

export type ApiHandler = (event: HttpEvent, context?: Context) => Promise<HttpResponse>;

export function createApi(deps: Deps, routes: readonly Route[] = ROUTES): ApiHandler {
  const router = httpRouterHandler({
    routes: routes.map((route) => ({
      method: route.method,
      path: route.path,
      // The router is typed for every API Gateway shape; ours are always HTTP API 2.0 events.
      handler: (async (event: HttpEvent, context: Context | undefined) => HANDLERS[route.id](await prepare(event, deps, route, context))) as never,
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

