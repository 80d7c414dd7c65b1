/**
 * The local server behaving like a deployment: before a non-public route, the authorizer runs
 * on an API Gateway authorizer event and its context is attached to the request, exactly as API
 * Gateway does with the Lambda REQUEST authorizer. Tests (and the compatibility suite) use it to
 * drive the deployed authentication path — JWTs, X-Auth-Token, signed URLs — without AWS.
 */
import type { AuthorizerEvent, AuthorizerHandler } from '../auth/authorizer.js';
import type { ApiHandler } from '../http/app.js';
import type { HttpEvent } from '../http/request.js';
import { pathPattern, ROUTES, type Route } from '../http/routes.js';

function authorizerEvent(event: HttpEvent, route: Route): AuthorizerEvent {
  const routeKey = `${route.method} ${route.path}`;
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:local:000000000000:local/$default/${route.method}${route.path}`,
    identitySource: [],
    routeKey,
    rawPath: event.rawPath,
    rawQueryString: event.rawQueryString,
    cookies: [],
    headers: event.headers,
    ...(event.queryStringParameters ? { queryStringParameters: event.queryStringParameters } : {}),
    requestContext: { ...event.requestContext, routeKey } as unknown as AuthorizerEvent['requestContext'],
  };
}

/** `api` behind `authorizer` on every non-public route; a refusal is API Gateway's bare 403. */
export function behindAuthorizer(api: ApiHandler, authorizer: AuthorizerHandler): ApiHandler {
  const routes = ROUTES as readonly Route[];
  return async (event, context) => {
    const method = event.requestContext.http.method;
    const route = routes.find((r) => r.method === method && pathPattern(r.path).test(event.rawPath));
    if (!route || route.public) return api(event, context);
    const result = await authorizer(authorizerEvent(event, route));
    if (!result.isAuthorized) {
      return { statusCode: 403, headers: { 'content-type': 'application/json' }, body: '{"message":"Forbidden"}' };
    }
    return api({ ...event, requestContext: { ...event.requestContext, authorizer: { lambda: result.context } } }, context);
  };
}
