/**
 * The HTTP API: one API Gateway route per entry of THE route table (functions/http/routes.ts),
 * generated here and never listed by hand, each integrated with its group's function; a
 * `$default` route (the fallback function) answers everything else: storage-free documents at
 * trailing-slash paths, a 308 for other trailing-slash variants, Zaqar-style 404/405 otherwise.
 *
 * Every non-public route sits behind one Lambda REQUEST authorizer (functions/entry/authorizer.ts):
 * it accepts a JWT (`Authorization: Bearer` or `X-Auth-Token`) or a Zaqar signed URL and hands its
 * verdict to the route's function, which enforces it first. No identity source (a request may
 * authenticate by any of three headers, and API Gateway would refuse one that lacks any listed
 * source) and no result cache (a signed URL's verdict depends on the path and method).
 *
 * NOTE: HTTP API (not REST): Lambda authorizers with simple responses, payload 2.0 events (what
 * the handlers and the local server speak), lower latency and about a third of the price. What
 * REST would add (WAF, API keys, request validation) does not apply to a Zaqar endpoint.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  type CorsPreflightOptions,
  type HttpRoute,
  type IHttpRouteAuthorizer,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ROUTES, type FunctionGroup, type Route } from '../functions/http/routes.js';

/** How requests are tied to a project (tenant). */
export type ApiAuth =
  | {
      readonly mode: 'jwt';
      /** Token issuer URL (e.g. `https://cognito-idp.<region>.amazonaws.com/<pool id>`). */
      readonly issuer: string;
      /** Accepted `aud` (or Cognito `client_id`) values. */
      readonly audience: readonly string[];
    }
  /** No authorizer: the X-Project-ID header is trusted (signed URLs are still verified). Only for private or test deployments. */
  | { readonly mode: 'trusted-header' };

/**
 * How long API Gateway waits for a function: the most an HTTP API allows (a long poll holds its
 * request up to LIMITS.WAIT_SECONDS_MAX seconds; its function's timeout lies below this).
 */
export const INTEGRATION_TIMEOUT = Duration.seconds(29);

/** Default stage throttling: requests per second, steady and burst. */
export const DEFAULT_THROTTLE: Required<ThrottleSettings> = { rateLimit: 1_000, burstLimit: 2_000 };

export interface QueuesApiProps {
  /** The function serving each route group. */
  readonly functions: Readonly<Record<FunctionGroup, IFunction>>;
  /** Serves `$default` (unknown paths and methods). */
  readonly fallback: IFunction;
  readonly auth: ApiAuth;
  /** The REQUEST authorizer's function; required in `jwt` mode, unused with a trusted header. */
  readonly authorizer?: IFunction;
  /** @default DEFAULT_THROTTLE */
  readonly throttle?: ThrottleSettings;
  /** @default - no CORS: browsers cannot call the API from other origins */
  readonly cors?: CorsPreflightOptions;
  /** @default RetentionDays.ONE_MONTH */
  readonly accessLogRetention?: RetentionDays;
}

/** One access log line per request, as JSON (CloudWatch Logs Insights parses it as is). */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  time: '$context.requestTime',
  method: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  length: '$context.responseLength',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
};

export class QueuesApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** The generated routes, by route id. */
  readonly routes: ReadonlyMap<string, HttpRoute>;

  constructor(scope: Construct, id: string, props: QueuesApiProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'Api', {
      description: 'OpenStack Zaqar v2 (Cloud Queues) API',
      createDefaultStage: false,
      defaultIntegration: new HttpLambdaIntegration('Fallback', props.fallback, { timeout: INTEGRATION_TIMEOUT }),
      ...(props.cors ? { corsPreflight: props.cors } : {}),
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.accessLogRetention ?? RetentionDays.ONE_MONTH });
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { ...DEFAULT_THROTTLE, ...props.throttle },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    if (props.auth.mode === 'jwt' && !props.authorizer) throw new Error('QueuesApi: the jwt mode needs the authorizer function');
    const authorizer: IHttpRouteAuthorizer | undefined =
      props.auth.mode === 'jwt' && props.authorizer
        ? new HttpLambdaAuthorizer('Authorizer', props.authorizer, {
            responseTypes: [HttpLambdaResponseType.SIMPLE],
            identitySource: [],
            resultsCacheTtl: Duration.seconds(0),
          })
        : undefined;

    const integrations = new Map<FunctionGroup, HttpLambdaIntegration>();
    const integrationFor = (group: FunctionGroup) => {
      let integration = integrations.get(group);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${group}-integration`, props.functions[group], { timeout: INTEGRATION_TIMEOUT });
        integrations.set(group, integration);
      }
      return integration;
    };

    const routes = new Map<string, HttpRoute>();
    for (const route of ROUTES as readonly Route[]) {
      const [created] = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrationFor(route.group),
        ...(authorizer && !route.public ? { authorizer } : {}),
      });
      if (created) routes.set(route.id, created);
    }
    this.routes = routes;

    this.acknowledgeOpenRoutes(props.auth);
  }

  /** cdk-nag APIG4 (route without authorization): each open route with the reason it is open. */
  private acknowledgeOpenRoutes(auth: ApiAuth): void {
    const publicRoutes = (ROUTES as readonly Route[]).filter((r) => r.public);
    const defaultRoute = this.api.node.tryFindChild('DefaultRoute');
    const open: { construct: Construct | undefined; reason: string }[] = [
      {
        construct: defaultRoute,
        reason:
          '$default (fallback function) has no table access: it serves only the public documents, redirects trailing-slash variants to the authorized routes and answers 404/405 from the route table, so an unauthenticated caller learns nothing an authenticated one would not.',
      },
    ];
    if (auth.mode === 'trusted-header') {
      for (const route of this.routes.values()) {
        open.push({
          construct: route,
          reason:
            'trustProjectHeader is an explicit opt-in (off by default) for private or test deployments: the tenant is the X-Project-ID header, as in Zaqar without Keystone.',
        });
      }
    } else {
      for (const route of publicRoutes) {
        open.push({
          construct: this.routes.get(route.id),
          reason: `${route.method} ${route.path} is public by design (${route.summary}): versions, home document, OpenAPI and ping/health carry no tenant data, as in Zaqar; the console page is static and calls the authorized routes with the user's token.`,
        });
      }
    }
    for (const { construct, reason } of open) {
      if (construct) Validations.of(construct).acknowledge({ id: 'AwsSolutions-APIG4', reason });
    }
  }
}
