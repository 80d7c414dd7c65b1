/**
 * What the synthesized template must say: every route of the route table with its group's
 * integration, the authorizer on every non-public route, the table as TABLE defines it (TTL,
 * PITR, indexes), IAM scoped to the table and index ARNs with exactly the actions of lib/access.ts,
 * the sweeper schedule, alarms and outputs.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { ROUTES, FUNCTION_GROUPS, type Route } from '../../functions/http/routes.js';
import { TABLE } from '../../functions/store/dynamo/schema.js';
import { ACCESS, iamActions, secretsOf, type AccessSubject, type SecretSubject } from '../../lib/access.js';
import { LIMITS } from '../../functions/core/limits.js';
import { LONG_POLL_RESERVE_MS } from '../../functions/http/long-poll.js';
import { API_FUNCTION_TIMEOUT, resolveAuth } from '../../lib/cloud-queues-stack.js';
import { INTEGRATION_TIMEOUT } from '../../lib/queues-api.js';
import { JWT_PROPS, logicalIdOf, templateOf, type Resource } from './support.js';

const jwt = templateOf();
const trusted = templateOf({ trustProjectHeader: true });
const routes = ROUTES as readonly Route[];

const resources = (template: Template, type: string): Record<string, Resource> =>
  template.findResources(type) as Record<string, Resource>;
const routeByKey = (template: Template): Map<string, Resource> =>
  new Map(Object.values(resources(template, 'AWS::ApiGatewayV2::Route')).map((r) => [String(r.Properties.RouteKey), r]));
const functionId = (template: Template, handler: string) =>
  logicalIdOf(template, 'AWS::Lambda::Function', { Handler: `index.${handler}` });
const tableArn = { 'Fn::GetAtt': [logicalIdOf(jwt, 'AWS::DynamoDB::Table', {}), 'Arn'] };
const indexArn = (name: string) => ({ 'Fn::Join': ['', [tableArn, `/index/${name}`]] });

describe('routes', () => {
  const byKey = routeByKey(jwt);

  it('has exactly one API Gateway route per route table entry, plus $default', () => {
    expect([...byKey.keys()].sort()).toEqual([...routes.map((r) => `${r.method} ${r.path}`), '$default'].sort());
  });

  it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s is integrated with its group function', (key, route) => {
    const target = (byKey.get(key) as Resource).Properties.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
    const integrationId = target['Fn::Join'][1][1].Ref;
    const integration = jwt.toJSON().Resources[integrationId] as Resource;
    expect(integration.Properties).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [functionId(jwt, route.group), 'Arn'] },
    });
  });

  it('sends $default to the fallback function', () => {
    const target = (byKey.get('$default') as Resource).Properties.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
    const integration = jwt.toJSON().Resources[target['Fn::Join'][1][1].Ref] as Resource;
    expect(integration.Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': [functionId(jwt, 'fallback'), 'Arn'] });
  });
});

describe('timeouts (long polling)', () => {
  const lambdaOf = (handler: string) => jwt.toJSON().Resources[functionId(jwt, handler)] as Resource;
  const longPolled = new Set(routes.filter((r) => r.longPoll).map((r) => r.group));

  it('every integration waits API Gateway\'s most for its function (29 s)', () => {
    const integrations = Object.values(resources(jwt, 'AWS::ApiGatewayV2::Integration'));
    expect(integrations.length).toBeGreaterThan(0);
    for (const i of integrations) expect(i.Properties.TimeoutInMillis).toBe(INTEGRATION_TIMEOUT.toMilliseconds());
  });

  it.each(FUNCTION_GROUPS.map((g) => [g] as const))('the %s function outlives its longest wait plus the reserve, within the integration timeout', (group) => {
    const timeout = Number(lambdaOf(group).Properties.Timeout);
    if (longPolled.has(group)) {
      expect(timeout * 1000).toBeGreaterThan(LIMITS.WAIT_SECONDS_MAX * 1000 + LONG_POLL_RESERVE_MS);
      expect(timeout).toBeLessThan(INTEGRATION_TIMEOUT.toSeconds());
    } else {
      expect(timeout).toBe(API_FUNCTION_TIMEOUT.toSeconds());
    }
  });

  it('claims and listings are the long-poll routes', () => {
    expect(routes.filter((r) => r.longPoll).map((r) => r.id).sort()).toEqual(['claims.create', 'messages.list']);
  });
});

describe('auth', () => {
  const authorizerId = logicalIdOf(jwt, 'AWS::ApiGatewayV2::Authorizer', {});
  const authorizerFn = () => functionId(jwt, 'authorize');

  it('is one Lambda REQUEST authorizer: simple responses, no identity source, no cache', () => {
    jwt.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    jwt.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: [],
      AuthorizerResultTtlInSeconds: 0,
      AuthorizerUri: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ 'Fn::GetAtt': [authorizerFn(), 'Arn'] }])]) }),
    });
    // API Gateway may invoke it (and only it gets that permission from the authorizer).
    jwt.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [authorizerFn(), 'Arn'] },
      Principal: 'apigateway.amazonaws.com',
    });
  });

  it('gives the authorizer the JWT settings and the claim that carries the project', () => {
    jwt.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.authorize',
      Environment: {
        Variables: Match.objectLike({
          JWT_ISSUER: JWT_PROPS.jwtIssuer,
          JWT_AUDIENCE: (JWT_PROPS.jwtAudience ?? []).join(','),
          PROJECT_CLAIM: 'project_id',
        }),
      },
    });
    templateOf({ ...JWT_PROPS, projectClaim: 'custom:tenant' }).hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.authorize',
      Environment: { Variables: Match.objectLike({ PROJECT_CLAIM: 'custom:tenant' }) },
    });
  });

  it.each(routes.filter((r) => !r.public).map((r) => [`${r.method} ${r.path}`] as const))('%s goes through the authorizer', (key) => {
    expect(routeByKey(jwt).get(key)?.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
  });

  it('leaves only the public routes (versions, home, OpenAPI, ping, health, console page) and $default open', () => {
    const open = [...routeByKey(jwt)].filter(([, r]) => r.Properties.AuthorizationType !== 'CUSTOM').map(([key]) => key);
    expect(open.sort()).toEqual([...routes.filter((r) => r.public).map((r) => `${r.method} ${r.path}`), '$default'].sort());
    expect(routes.filter((r) => r.public).map((r) => r.path)).toEqual(['/', '/v2', '/v2/openapi.json', '/v2/ping', '/v2/ping', '/v2/health', '/console']);
  });

  it('tells the route functions not to trust the header (the project comes from the authorizer)', () => {
    for (const group of FUNCTION_GROUPS) {
      jwt.hasResourceProperties('AWS::Lambda::Function', {
        Handler: `index.${group}`,
        Environment: { Variables: Match.objectLike({ TRUST_PROJECT_HEADER: 'false' }) },
      });
    }
  });

  it('trustProjectHeader deploys no authorizer and tells the functions to trust X-Project-ID', () => {
    trusted.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
    expect(Object.keys(trusted.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.authorize' } }))).toEqual([]);
    for (const route of routeByKey(trusted).values()) expect(route.Properties.AuthorizationType).toBe('NONE');
    for (const fn of Object.values(resources(trusted, 'AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment).toMatchObject({ Variables: { TRUST_PROJECT_HEADER: 'true' } });
    }
  });

  it('refuses to build without JWT settings unless the header is explicitly trusted', () => {
    expect(() => resolveAuth({})).toThrow(/jwtIssuer and jwtAudience/);
    expect(() => resolveAuth({ jwtIssuer: 'https://issuer.example.com', jwtAudience: [] })).toThrow(/jwtAudience/);
    expect(resolveAuth({ trustProjectHeader: true })).toEqual({ mode: 'trusted-header' });
  });
});

describe('secrets', () => {
  const secretIds = () => ({
    signing: logicalIdOf(jwt, 'AWS::SecretsManager::Secret', { Description: Match.stringLikeRegexp('pre-signed URLs') }),
    message: logicalIdOf(jwt, 'AWS::SecretsManager::Secret', { Description: Match.stringLikeRegexp('encryption key') }),
  });

  it('are generated by CloudFormation (never in the template), the message key outliving the table', () => {
    jwt.resourceCountIs('AWS::SecretsManager::Secret', 2);
    for (const secret of Object.values(resources(jwt, 'AWS::SecretsManager::Secret'))) {
      expect(secret.Properties.GenerateSecretString).toMatchObject({ PasswordLength: 64, ExcludePunctuation: true });
      expect(secret.Properties.SecretString).toBeUndefined();
    }
    const { signing, message } = secretIds();
    expect(jwt.toJSON().Resources[message].DeletionPolicy).toBe('Retain');
    expect(jwt.toJSON().Resources[signing].DeletionPolicy).toBe('Delete');
    const throwaway = templateOf({ ...JWT_PROPS, tableRemovalPolicy: RemovalPolicy.DESTROY, tableDeletionProtection: false });
    for (const secret of Object.values(resources(throwaway, 'AWS::SecretsManager::Secret'))) expect(secret.DeletionPolicy).toBe('Delete');
  });

  /** The secret ARNs (by name) a function's role may read, and the ARNs in its environment. */
  const secretAccessOf = (template: Template, handler: string) => {
    const json = template.toJSON() as { Resources: Record<string, Resource> };
    const fn = json.Resources[functionId(template, handler)] as Resource;
    const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const statements = Object.values(resources(template, 'AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement)
      .filter((st) => JSON.stringify(st.Action).includes('secretsmanager:'));
    const env = ((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables ?? {}) as Record<string, unknown>;
    return { statements, env };
  };

  const expectGrants = (template: Template, subject: SecretSubject, handler: string, trustedHeader: boolean) => {
    const ids = {
      signing: logicalIdOf(template, 'AWS::SecretsManager::Secret', { Description: Match.stringLikeRegexp('pre-signed URLs') }),
      message: logicalIdOf(template, 'AWS::SecretsManager::Secret', { Description: Match.stringLikeRegexp('encryption key') }),
    };
    const names = secretsOf(subject, trustedHeader);
    const { statements, env } = secretAccessOf(template, handler);
    expect(statements).toEqual(names.map((n) => ({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: ids[n] } })));
    expect(env.SIGNING_SECRET_ARN).toEqual(names.includes('signing') ? { Ref: ids.signing } : undefined);
    expect(env.MESSAGE_KEY_SECRET_ARN).toEqual(names.includes('message') ? { Ref: ids.message } : undefined);
  };

  const subjects: [SecretSubject, string][] = [...FUNCTION_GROUPS.map((g): [SecretSubject, string] => [g, g]), ['sweeper', 'handler']];

  it.each([...subjects, ['authorizer', 'authorize'] as [SecretSubject, string]])(
    'with the authorizer, %s may read exactly its secrets (GetSecretValue on their ARNs only)',
    (subject, handler) => expectGrants(jwt, subject, handler, false),
  );

  it.each(subjects)('with trustProjectHeader, %s may read exactly its secrets', (subject, handler) => expectGrants(trusted, subject, handler, true));

  it('the fallback reads no secret', () => {
    expect(secretAccessOf(jwt, 'fallback').statements).toEqual([]);
  });
});

describe('table', () => {
  it('is built from TABLE: keys, the sparse sweep index (whole small records), TTL attribute, on-demand, PITR', () => {
    jwt.resourceCountIs('AWS::DynamoDB::Table', 1);
    jwt.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: TABLE.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: TABLE.sortKey.name, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: TABLE.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('is retained and deletion-protected by default; both are props', () => {
    jwt.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
    const throwaway = templateOf({ ...JWT_PROPS, tableRemovalPolicy: RemovalPolicy.DESTROY, tableDeletionProtection: false });
    throwaway.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
  });
});

describe('functions', () => {
  it('are arm64 on nodejs22.x with the table name, source maps and log groups', () => {
    const fns = Object.values(resources(jwt, 'AWS::Lambda::Function'));
    expect(fns).toHaveLength(FUNCTION_GROUPS.length + 5); // + fallback + sweeper + authorizer + notifier stream and retry
    for (const fn of fns) {
      // The authorizer never touches the table: it gets no table name.
      const table = fn.Properties.Handler === 'index.authorize' ? {} : { TABLE_NAME: { Ref: logicalIdOf(jwt, 'AWS::DynamoDB::Table', {}) } };
      expect(fn.Properties).toMatchObject({
        Architectures: ['arm64'],
        Runtime: 'nodejs22.x',
        Environment: {
          Variables: {
            ...table,
            NODE_OPTIONS: '--enable-source-maps',
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          },
        },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
      if (fn.Properties.Handler === 'index.authorize') expect(JSON.stringify(fn.Properties.Environment)).not.toContain('TABLE_NAME');
    }
    const logGroups = Object.values(resources(jwt, 'AWS::Logs::LogGroup'));
    expect(logGroups).toHaveLength(fns.length + 1); // + API access logs
    for (const group of logGroups) expect(group.Properties.RetentionInDays).toBe(30);
  });
});

describe('IAM', () => {
  const template = jwt.toJSON() as { Resources: Record<string, Resource> };
  /** The DynamoDB statements of the role of the function with this handler. */
  const dynamoStatements = (handler: string) => {
    const roleId = ((template.Resources[functionId(jwt, handler)] as Resource).Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const policies = Object.values(resources(jwt, 'AWS::IAM::Policy')).filter((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
    );
    const statements = policies.flatMap((p) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement);
    return statements
      .map((s) => ({ ...s, Action: [s.Action].flat() as string[], Resource: [s.Resource].flat() }))
      .filter((s) => s.Action.some((a) => a.startsWith('dynamodb:')));
  };

  const subjects: [AccessSubject, string][] = [...FUNCTION_GROUPS.map((g): [AccessSubject, string] => [g, g]), ['sweeper', 'handler']];

  it.each(subjects)('%s gets exactly its actions on the table ARN and its index ARNs', (subject, handler) => {
    const access = ACCESS[subject];
    const expected: Record<string, unknown>[] = [{ Effect: 'Allow', Action: iamActions(access.table), Resource: [tableArn] }];
    if (access.indexes.length > 0) {
      const names = access.onlyIndexes ?? TABLE.indexes.map((i) => i.name);
      expected.push({ Effect: 'Allow', Action: iamActions(access.indexes), Resource: names.map(indexArn) });
    }
    expect(dynamoStatements(handler)).toEqual(expected);
  });

  it('grants the fallback and the authorizer no table access at all', () => {
    expect(dynamoStatements('fallback')).toEqual([]);
    expect(dynamoStatements('authorize')).toEqual([]);
  });

  it('never grants wildcards, ConditionCheckItem, PartiQL or table management', () => {
    const text = JSON.stringify(resources(jwt, 'AWS::IAM::Policy'));
    expect(text).not.toMatch(/"dynamodb:\*"|"\*"|index\/\*|ConditionCheckItem|PartiQL|CreateTable|DeleteTable|DescribeTable/);
  });

  it('uses no managed policies (each role writes to its own log group only)', () => {
    for (const role of Object.values(resources(jwt, 'AWS::IAM::Role'))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe('sweeper', () => {
  it('runs every minute by default, with retries', () => {
    jwt.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [functionId(jwt, 'handler'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
          Id: Match.anyValue(),
        },
      ],
    });
    jwt.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId(jwt, 'handler') },
      MaximumRetryAttempts: 1,
    });
  });

  it('takes its schedule from the props', () => {
    templateOf({ ...JWT_PROPS, sweepSchedule: Schedule.rate(Duration.minutes(5)) }).hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
    });
  });
});

describe('notifier (push delivery)', () => {
  const queueId = (match: Record<string, unknown>) => logicalIdOf(jwt, 'AWS::SQS::Queue', match);
  const retryQueue = queueId({ VisibilityTimeout: 360 });
  const streamFn = functionId(jwt, 'stream');
  const streamMapping = Object.values(resources(jwt, 'AWS::Lambda::EventSourceMapping')).find((m) => JSON.stringify(m.Properties.FunctionName).includes(streamFn));
  // The on-failure queue: not the retry queue's dead-letter queue.
  const streamFailures = Object.keys(resources(jwt, 'AWS::SQS::Queue')).find(
    (id) => id !== retryQueue && !JSON.stringify(resources(jwt, 'AWS::SQS::Queue')[retryQueue]?.Properties.RedrivePolicy).includes(id),
  );
  const retryFn = functionId(jwt, 'retry');
  const statementsOf = (fnId: string) => {
    const role = (resources(jwt, 'AWS::Lambda::Function')[fnId]?.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    return Object.values(resources(jwt, 'AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement);
  };
  const actionsOn = (fnId: string, prefix: string) =>
    statementsOf(fnId).flatMap((st) => [st.Action].flat().filter((a) => a.startsWith(prefix)).map((a) => ({ action: a, resource: st.Resource })));

  it('the table streams new images', () => {
    jwt.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: TABLE.streamViewType } });
  });

  it('reads the stream in batches, reporting partial failures, bisecting, with an on-failure queue, filtered to what it delivers', () => {
    const mapping = streamMapping;
    expect(mapping?.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(jwt, 'AWS::DynamoDB::Table', {}), 'StreamArn'] },
      StartingPosition: 'LATEST',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [streamFailures, 'Arn'] } } },
    });
    const patterns = (mapping?.Properties.FilterCriteria as { Filters: { Pattern: string }[] }).Filters.map((f) => JSON.parse(f.Pattern));
    expect(patterns).toEqual([
      { eventName: ['INSERT'], dynamodb: { Keys: { pk: { S: [{ prefix: 'M#' }] } }, NewImage: { tb: [{ exists: false }] } } },
      { eventName: ['INSERT'], dynamodb: { Keys: { pk: { S: [{ prefix: 'S#' }] }, sk: { S: [{ prefix: 'K#' }] } } } },
    ]);
  });

  it('retries through an encrypted SQS queue with a dead-letter queue, consumed with partial failures', () => {
    jwt.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 360,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
    });
    for (const queue of Object.values(resources(jwt, 'AWS::SQS::Queue'))) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    expect(Object.values(resources(jwt, 'AWS::SQS::QueuePolicy')).map((p) => JSON.stringify(p.Properties)).filter((p) => p.includes('aws:SecureTransport'))).toHaveLength(3);
    const mapping = Object.values(resources(jwt, 'AWS::Lambda::EventSourceMapping')).find((m) => JSON.stringify(m.Properties.FunctionName).includes(retryFn));
    expect(mapping?.Properties).toMatchObject({ EventSourceArn: { 'Fn::GetAtt': [retryQueue, 'Arn'] }, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    const fn = resources(jwt, 'AWS::Lambda::Function')[retryFn];
    expect(JSON.stringify(fn?.Properties.Environment)).toContain(retryQueue);
  });

  it('least privilege: reads subscriptions and metadata only, the stream only by its ARN, sends only to its queues', () => {
    for (const fnId of [streamFn, retryFn]) {
      const table = actionsOn(fnId, 'dynamodb:').filter((g) => JSON.stringify(g.resource) === JSON.stringify(tableArn));
      expect(table.map((g) => g.action).sort()).toEqual(iamActions(ACCESS.notifier.table));
      const secrets = actionsOn(fnId, 'secretsmanager:');
      expect(secrets).toHaveLength(secretsOf('notifier', false).length);
      for (const { action } of actionsOn(fnId, 'sqs:')) expect(action).not.toMatch(/Purge|Delete.*Queue|SetQueue/);
    }
    const stream = actionsOn(streamFn, 'dynamodb:').filter((g) => JSON.stringify(g.resource).includes('StreamArn'));
    expect(stream.map((g) => g.action).sort()).toEqual(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams']);
    expect(actionsOn(retryFn, 'dynamodb:').some((g) => JSON.stringify(g.resource).includes('StreamArn'))).toBe(false);
    // Only the retry function consumes the retry queue; the stream function only sends to it (and to its on-failure queue).
    expect(actionsOn(streamFn, 'sqs:ReceiveMessage')).toEqual([]);
    expect(actionsOn(retryFn, 'sqs:ReceiveMessage').map((g) => g.resource)).toEqual([{ 'Fn::GetAtt': [retryQueue, 'Arn'] }]);
  });

  it('alarms on iterator age, deliveries given up, the dead-letter queues and the functions’ errors', () => {
    const alarms = Object.values(resources(jwt, 'AWS::CloudWatch::Alarm')).map((a) => JSON.stringify(a.Properties));
    expect(alarms.some((a) => a.includes('"MetricName":"IteratorAge"') && a.includes(streamFn))).toBe(true);
    expect(alarms.some((a) => a.includes('"MetricName":"DeliveriesGivenUp"'))).toBe(true);
    expect(alarms.filter((a) => a.includes('ApproximateNumberOfMessagesVisible'))).toHaveLength(2);
    for (const id of [streamFn, retryFn]) expect(alarms.some((a) => a.includes('"MetricName":"Errors"') && a.includes(id))).toBe(true);
    // The metric behind "given up": the notifier's report line, from both functions' logs.
    const filters = Object.values(resources(jwt, 'AWS::Logs::MetricFilter')).map((f) => f.Properties);
    expect(filters.filter((f) => JSON.stringify(f).includes('DeliveriesGivenUp'))).toHaveLength(2);
    expect(filters[0]?.FilterPattern).toBe('{ $.message = "deliveries" }');
  });

  it('passes require_confirmation to the API and the notifier, and the API URL for confirm links', () => {
    const confirming = templateOf({ ...JWT_PROPS, requireConfirmation: true });
    const envs = Object.values(resources(confirming, 'AWS::Lambda::Function')).map((f) => JSON.stringify(f.Properties.Environment));
    expect(envs.filter((e) => e.includes('"REQUIRE_CONFIRMATION":"true"')).length).toBe(FUNCTION_GROUPS.length + 4);
    expect(JSON.stringify(resources(jwt, 'AWS::Lambda::Function')[streamFn]?.Properties.Environment)).toContain('PUBLIC_URL');
  });
});

describe('operations', () => {
  const alarms = Object.values(resources(jwt, 'AWS::CloudWatch::Alarm')).map((a) => JSON.stringify(a.Properties));

  it('alarms on API 5xx rate, Lambda errors and throttles, DynamoDB throttles and sweeper failures', () => {
    expect(alarms.some((a) => a.includes('5xx') && a.includes('100 * errors / requests'))).toBe(true);
    const fnIds = [...FUNCTION_GROUPS, 'fallback', 'authorize'].map((h) => functionId(jwt, h));
    for (const id of fnIds) {
      expect(alarms.some((a) => a.includes('"MetricName":"Errors"') && a.includes(id))).toBe(true);
      expect(alarms.some((a) => a.includes('"MetricName":"Throttles"') && a.includes(id))).toBe(true);
    }
    expect(alarms.some((a) => a.includes('ThrottledRequests'))).toBe(true);
    const sweeper = functionId(jwt, 'handler');
    expect(alarms.some((a) => a.includes('The sweeper failed') && a.includes(sweeper) && a.includes('"MetricName":"Errors"'))).toBe(true);
    jwt.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('sends alarms to the topic when one is given', () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:ops';
    const template = templateOf({ ...JWT_PROPS, alarmTopicArn: topic });
    for (const alarm of Object.values(resources(template, 'AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
    }
  });

  it('logs every request as JSON and throttles the stage by default', () => {
    jwt.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
    });
  });

  it('has no CORS unless asked', () => {
    jwt.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent(), ProtocolType: 'HTTP' });
  });

  it('outputs the API URL and the table name', () => {
    jwt.hasOutput('ApiUrl', { Value: Match.anyValue() });
    jwt.hasOutput('TableName', { Value: { Ref: logicalIdOf(jwt, 'AWS::DynamoDB::Table', {}) } });
  });
});
