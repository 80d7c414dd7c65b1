/**
 * OpenAPI 3.1 description generated from the route table (functions/http/routes.ts) and the
 * per-route schemas (functions/http/schemas.ts); never maintained by hand. Served at
 * GET /v2/openapi.json and written to docs/openapi.json by `npm run openapi`.
 */
import { LIMITS } from '../core/limits.js';
import { ROUTES, type Route } from './routes.js';
import {
  COMPONENT_SCHEMAS,
  errorResponse,
  EXTENSION_KEY,
  HEADER_PARAMETERS,
  PATH_PARAMETERS,
  ROUTE_SCHEMAS,
  type HeaderSpec,
  type ParameterSpec,
  type ResponseSpec,
} from './schemas.js';

const JSON_MEDIA_TYPE = 'application/json';

/** `{param}` names in a route path, in order. */
export const pathParameterNames = (path: string): string[] => [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);

/** Errors any operation can answer with; a route's own entry for the same status wins. */
function commonErrors(route: Route): Record<number, ResponseSpec> {
  const errors: Record<number, ResponseSpec> = {
    406: errorResponse(`\`Accept\` excludes ${route.produces ?? 'JSON'}.`),
  };
  if (!route.anonymous) {
    errors[400] = errorResponse('Missing or malformed `Client-ID`, or missing or invalid `X-Project-ID` (local mode).');
  }
  if (!route.public) {
    errors[401] = errorResponse('No valid credentials (deployment with an authorizer): no token, or a token that does not verify.');
    errors[404] = errorResponse('A signed URL that does not grant this request: tampered, expired, or another path, method, queue or project.');
  }
  if (route.group !== 'system' || route.id === 'health') {
    errors[503] = errorResponse('Storage failed; the description ends "Please try again in a few seconds."', {
      'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'string' } },
    });
  }
  return errors;
}

function header({ description, schema }: HeaderSpec) {
  return { description, schema };
}

function response(spec: ResponseSpec) {
  return {
    description: spec.description,
    ...(spec.headers ? { headers: Object.fromEntries(Object.entries(spec.headers).map(([k, h]) => [k, header(h)])) } : {}),
    ...(spec.schema ? { content: { [spec.mediaType ?? JSON_MEDIA_TYPE]: { schema: spec.schema } } } : {}),
  };
}

function parameter(p: ParameterSpec) {
  return {
    name: p.name,
    in: p.in,
    ...(p.required ? { required: true } : {}),
    description: p.description,
    ...(p.style ? { style: p.style } : {}),
    ...(p.explode !== undefined ? { explode: p.explode } : {}),
    schema: p.schema,
    ...(p.extension ? { [EXTENSION_KEY]: p.extension } : {}),
  };
}

/**
 * Behind the authorizer: a JWT (as a bearer token or as X-Auth-Token), or a signed URL's headers.
 * In local mode and with trustProjectHeader, X-Project-ID names the project instead.
 */
const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A JWT from the configured issuer; the project is one of its claims.' },
  authToken: { type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: 'The same JWT, as python-zaqarclient\u2019s keystone backend sends a pre-issued token.' },
  signedUrl: {
    type: 'apiKey',
    in: 'header',
    name: 'URL-Signature',
    description: 'A signed URL from `POST /v2/queues/{queue_name}/share`, sent with `URL-Expires`, `URL-Methods`, `URL-Paths` and `X-Project-ID`.',
  },
} as const;
const SECURITY = [{ bearer: [] }, { authToken: [] }, { signedUrl: [] }];

const headerRef = (name: keyof typeof HEADER_PARAMETERS) => ({ $ref: `#/components/parameters/${name}` });

function operation(route: Route) {
  const spec = ROUTE_SCHEMAS[route.id];
  const pathParams = pathParameterNames(route.path).map((name) => {
    const p = PATH_PARAMETERS[name];
    if (!p) throw new Error(`route ${route.id}: no schema for path parameter {${name}} in functions/http/schemas.ts`);
    return parameter(p);
  });
  const headers = route.anonymous ? [] : [headerRef('ClientId'), headerRef('ProjectId')];
  const responses: Record<string, ReturnType<typeof response>> = {};
  // The route's own entries first, then the common errors it does not override; sorted by status.
  const common = commonErrors(route);
  const statuses = new Set([...Object.keys(common), ...Object.keys(spec.responses)]);
  for (const status of [...statuses].map(Number).sort((a, b) => a - b)) {
    const own = spec.responses[status];
    const shared = common[status];
    // A route-specific 400 still also covers the header errors: say both.
    const chosen = own && shared && status === 400 ? { ...own, description: `${own.description} ${shared.description}` } : (own ?? shared);
    if (chosen) responses[String(status)] = response(chosen);
  }
  const body = spec.requestBody;
  return {
    operationId: route.id,
    tags: [route.group],
    summary: route.summary,
    ...(spec.description ? { description: spec.description } : {}),
    parameters: [...pathParams, ...(spec.query ?? []).map(parameter), ...headers],
    ...(route.public ? {} : { security: SECURITY }),
    ...(body
      ? {
          requestBody: {
            description: body.description,
            required: body.required,
            content: { [body.mediaType ?? JSON_MEDIA_TYPE]: { schema: body.schema } },
          },
        }
      : {}),
    responses,
  };
}

/** The whole document, built fresh on each call (callers cache). */
export function buildOpenApi() {
  const paths: Record<string, Record<string, ReturnType<typeof operation>>> = {};
  for (const route of ROUTES as readonly Route[]) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cloud Queues (OpenStack Zaqar v2)',
      version: '2.0',
      description:
        'The OpenStack Zaqar v2 messaging API served by API Gateway, Lambda and DynamoDB. ' +
        `Request bodies are JSON, at most ${LIMITS.REQUEST_BODY_HARD_MAX_BYTES} bytes; errors are \`{title, description}\`. ` +
        'A known path with another method answers 405 with `Allow`. What Cloud Queues adds to Zaqar is marked ' +
        `\`${EXTENSION_KEY}\` (its value names the feature, e.g. \`long-polling\`). Generated from functions/http/routes.ts and schemas.ts.`,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    tags: [
      { name: 'system', description: 'Versions, home document, health.' },
      { name: 'queues', description: 'Queues and their metadata.' },
      { name: 'messages', description: 'Posting, listing and deleting messages.' },
      { name: 'claims', description: 'Claiming messages for processing.' },
    ],
    paths,
    components: {
      schemas: COMPONENT_SCHEMAS,
      parameters: Object.fromEntries(Object.entries(HEADER_PARAMETERS).map(([k, p]) => [k, parameter(p)])),
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

/** The exact text of docs/openapi.json (the test compares the file with this). */
export const renderOpenApi = (): string => `${JSON.stringify(buildOpenApi(), null, 2)}\n`;
