/** OpenAPI 3.1 description generated from the route table (never maintained by hand). */
import { ROUTES } from './routes.js';

export function buildOpenApi() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const params = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      operationId: route.id,
      summary: route.summary,
      parameters: params,
      responses: { default: { description: 'See docs/zaqar-reference.md' } },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Cloud Queues (OpenStack Zaqar v2)', version: '2.0' },
    paths,
  };
}
