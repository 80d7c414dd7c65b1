/**
 * One Lambda function of the service: bundled locally with esbuild (never Docker), arm64,
 * its own log group with a retention, its own role with exactly the table access it needs.
 */
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SECRET_ENV } from '../functions/entry/env.js';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { iamActions, type SecretName, type TableAccess } from './access.js';
import type { QueueTable } from './queue-table.js';

/** Repository root: esbuild resolves entries and node_modules from here. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const entryPath = (relative: string): string => fileURLToPath(new URL(`../${relative}`, import.meta.url));

/** The Lambda runtime of every function (nodejs20.x is deprecated; the code still runs on Node 20 locally). */
export const RUNTIME = Runtime.NODEJS_22_X;
/** esbuild target matching RUNTIME. */
const ESBUILD_TARGET = 'node22';

export interface ServiceFunctionProps {
  /** Entry file, relative to the repository root. */
  readonly entry: string;
  /** Exported handler name in the entry file. */
  readonly handler: string;
  readonly description: string;
  readonly table: QueueTable;
  /** DynamoDB actions this function may perform (lib/access.ts). */
  readonly access: TableAccess;
  readonly environment: Record<string, string>;
  /**
   * Secrets the function reads (`secretsmanager:GetSecretValue` on each, and its ARN in the
   * environment variable functions/entry/secrets.ts reads).
   * @default - none
   */
  readonly secrets?: Partial<Record<SecretName, ISecret>>;
  /** @default 15 seconds */
  readonly timeout?: Duration;
  /** @default 512 (arm64 CPU scales with memory; 512 MB keeps cold starts short) */
  readonly memorySize?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

export class ServiceFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    // An explicit log group (instead of the LogRetention custom resource) keeps retention in
    // CloudFormation and lets the role write to this group only.
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Own role instead of AWSLambdaBasicExecutionRole: that managed policy lets a function write
    // to every log group in the account.
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (table access: lib/access.ts)`,
    });
    this.logGroup.grantWrite(role);
    const resources = [
      ...(props.access.table.length > 0 ? [{ actions: props.access.table, arns: [props.table.table.tableArn] }] : []),
      ...(props.access.indexes.length > 0 ? [{ actions: props.access.indexes, arns: props.table.indexArns(props.access.onlyIndexes) }] : []),
    ];
    for (const { actions, arns } of resources) {
      role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: iamActions(actions), resources: arns }));
    }
    // Not Secret.grantRead: that adds DescribeSecret, which nothing here calls.
    const secretEnv: Record<string, string> = {};
    for (const [name, secret] of Object.entries(props.secrets ?? {}) as [SecretName, ISecret][]) {
      role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }));
      secretEnv[SECRET_ENV[name]] = secret.secretArn;
    }

    this.fn = new NodejsFunction(this, 'Function', {
      entry: entryPath(props.entry),
      handler: props.handler,
      description: props.description,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: entryPath('package-lock.json'),
      runtime: RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(15),
      role,
      logGroup: this.logGroup,
      environment: {
        ...props.environment,
        ...secretEnv,
        // Stack traces point into functions/**.ts instead of the minified bundle.
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        forceDockerBundling: false,
        minify: true,
        sourceMap: true,
        target: ESBUILD_TARGET,
        format: OutputFormat.CJS,
        // Bundle the pinned AWS SDK too: the runtime's built-in copy changes under our feet.
        externalModules: [],
      },
    });
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is a supported runtime (not deprecated), chosen on purpose: the code is tested on Node 20/22 and the esbuild target matches it; moving to nodejs24.x is a deliberate upgrade (change RUNTIME and ESBUILD_TARGET together).',
    });
  }
}
