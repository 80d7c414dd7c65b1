/** Shared helpers of the infrastructure tests: one synthesized template per configuration. */
import { randomUUID } from 'node:crypto';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { HttpEvent } from '../../functions/http/request.js';
import { CloudQueuesStack, type CloudQueuesStackProps } from '../../lib/cloud-queues-stack.js';

export const JWT_PROPS: CloudQueuesStackProps = {
  jwtIssuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example',
  jwtAudience: ['client-a', 'client-b'],
};

/**
 * A fresh app with the stack. Bundling is skipped (the synth test bundles for real) and CDK's
 * built-in template validation is off: it costs seconds per synth and the synth test runs it.
 */
export function buildStack(props: CloudQueuesStackProps = JWT_PROPS): { app: App; stack: CloudQueuesStack } {
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CloudQueuesStack(app, 'CloudQueuesTest', props);
  return { app, stack };
}

export const templateOf = (props?: CloudQueuesStackProps): Template => Template.fromStack(buildStack(props).stack);

export type Resource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };

/** The logical id of the one resource of `type` whose properties include `match`. */
export function logicalIdOf(template: Template, type: string, match: Record<string, unknown>): string {
  const ids = Object.keys(template.findResources(type, { Properties: match }));
  if (ids.length !== 1) throw new Error(`expected one ${type} matching ${JSON.stringify(match)}, found ${ids.length}`);
  return ids[0] as string;
}

export interface EventOptions {
  /** The Lambda authorizer's context (functions/auth/authenticate.ts verdictContext). */
  readonly lambda?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  readonly query?: Record<string, string>;
}

const CLIENT_ID = randomUUID();

/** An HTTP API payload 2.0 event, as API Gateway sends it after the Lambda authorizer. */
export function event(method: string, path: string, options: EventOptions = {}): HttpEvent {
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: { 'client-id': CLIENT_ID, ...options.headers },
    ...(options.query ? { queryStringParameters: options.query } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      requestId: `req-${randomUUID()}`,
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      ...(options.lambda ? { authorizer: { lambda: options.lambda } } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    isBase64Encoded: false,
  } as HttpEvent;
}

