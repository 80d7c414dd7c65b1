/**
 * Per-queue metrics in the stack: the cap and allow-list reach the functions that use them, the
 * dashboard gains the per-queue widgets, and the per-queue alarms exist exactly as configured
 * (context keys, lib/context.ts), on the metric names the metrics step emits.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { QUEUE_METRIC, QUEUE_METRICS_NAMESPACE } from '../../functions/core/queue-metrics.js';
import { settingsFromContext, type ContextKey } from '../../lib/context.js';
import { JWT_PROPS, templateOf, type Resource } from './support.js';

const fromContext = (context: Partial<Record<ContextKey, string>>) => settingsFromContext((key) => context[key]).props;

/** The dashboard's body as text (CloudFormation joins it from parts). */
function dashboardBody(template: Template): string {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Resource[];
  return JSON.stringify(dashboard?.Properties.DashboardBody);
}

const alarms = (template: Template) => Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[];
const queueAlarms = (template: Template) =>
  alarms(template).filter((a) => JSON.stringify(a.Properties).includes(QUEUE_METRICS_NAMESPACE));

describe('per-queue metrics by default', () => {
  const template = templateOf(fromContext({ jwtIssuer: JWT_PROPS.jwtIssuer as string, jwtAudience: 'a' }));

  it('gives the sweeper and the API functions the default cap (10), and no allow-list', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Resource[];
    const withStore = functions.filter((f) => JSON.stringify(f.Properties).includes('TABLE_NAME'));
    expect(withStore.length).toBeGreaterThanOrEqual(5); // four route groups and the sweeper
    for (const f of withStore) {
      const env = (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.QUEUE_METRICS_MAX).toBe('10');
      expect(env.QUEUE_METRICS_QUEUES).toBeUndefined();
    }
  });

  it('adds Metrics Insights widgets over every reported queue, and no per-queue alarm', () => {
    const body = dashboardBody(template);
    expect(body).toContain(`SELECT MAX(${QUEUE_METRIC.oldestAge.name}) FROM SCHEMA(\\\\\\"${QUEUE_METRICS_NAMESPACE}\\\\\\", project, queue) GROUP BY project, queue`);
    expect(body).toContain('Oldest message age (s), top 10 queues');
    expect(body).toContain('QueuesOverCap');
    expect(queueAlarms(template)).toEqual([]);
  });
});

describe('named queues and alarms from context', () => {
  const template = templateOf(
    fromContext({
      trustProjectHeader: 'true',
      queueMetricsMax: '25',
      queueMetricsQueues: 'acme/jobs, acme/*',
      queueAlarmOldestAgeSeconds: '300',
      queueAlarmDepth: '1000',
      queueAlarmDeadLettered: 'true',
    }),
  );

  it('passes the cap and the allow-list to the functions', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ QUEUE_METRICS_MAX: '25', QUEUE_METRICS_QUEUES: 'acme/jobs,acme/*' }) },
    });
  });

  it('graphs the named queue (counts per minute; depth and oldest age)', () => {
    const body = dashboardBody(template);
    expect(body).toContain('acme/jobs: messages per minute');
    expect(body).toContain('acme/jobs: depth and oldest age');
    for (const key of ['posted', 'claimed', 'deleted', 'expired', 'deadLettered', 'free', 'inClaims', 'total', 'oldestAge'] as const) {
      expect(body).toContain(`\\"${QUEUE_METRIC[key].name}\\",\\"project\\",\\"acme\\",\\"queue\\",\\"jobs\\"`);
    }
  });

  it('alarms on the named queue: oldest age and depth over 3 minutes, any dead-lettered message', () => {
    const dims = [
      { Name: 'project', Value: 'acme' },
      { Name: 'queue', Value: 'jobs' },
    ];
    const on = (metric: string, stat: string) => [
      Match.objectLike({ MetricStat: { Metric: { Namespace: QUEUE_METRICS_NAMESPACE, MetricName: metric, Dimensions: dims }, Period: 60, Stat: stat } }),
    ];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: on('OldestMessageAge', 'Maximum'),
      Threshold: 300,
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Metrics: on('DepthTotal', 'Maximum'), Threshold: 1000, ComparisonOperator: 'GreaterThanThreshold' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: on('MessagesDeadLettered', 'Sum'),
      Threshold: 0,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarms on any reported queue through Metrics Insights (the queues the allow-list admits by project)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [Match.objectLike({ Expression: `SELECT MAX(OldestMessageAge) FROM SCHEMA("${QUEUE_METRICS_NAMESPACE}", project, queue)`, Period: 60 })],
      Threshold: 300,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [Match.objectLike({ Expression: `SELECT SUM(MessagesDeadLettered) FROM SCHEMA("${QUEUE_METRICS_NAMESPACE}", project, queue)` })],
      Threshold: 0,
    });
    // 3 kinds × (1 named queue + any queue)
    expect(queueAlarms(template)).toHaveLength(6);
  });
});

describe('with a slower sweep schedule', () => {
  it('the per-queue metrics, widgets and alarms take its rate as their period (one datapoint per run)', () => {
    const template = templateOf(fromContext({ trustProjectHeader: 'true', sweepIntervalMinutes: '5', queueMetricsQueues: 'acme/jobs', queueAlarmOldestAgeSeconds: '900' }));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'OldestMessageAge' }), Period: 300 }) })],
      EvaluationPeriods: 3,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Metrics: [Match.objectLike({ Expression: Match.stringLikeRegexp('OldestMessageAge'), Period: 300 })] });
    expect(dashboardBody(template)).toContain('acme/jobs: messages per 5 minutes');
  });

  it('refuses per-queue alarms with a cron schedule (runs with no fixed spacing have no period)', () => {
    const props = { ...fromContext({ trustProjectHeader: 'true' }), sweepSchedule: Schedule.cron({ minute: '*/5' }), queueAlarms: { depth: 10 } };
    expect(() => templateOf(props)).toThrow(/rate\(…\) sweep schedule/);
  });
});

describe('turned off, and malformed settings', () => {
  it('with queueMetricsMax=0: the functions get 0 (no marks, no metrics step) and the dashboard no queue widgets', () => {
    const template = templateOf(fromContext({ trustProjectHeader: 'true', queueMetricsMax: '0' }));
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ QUEUE_METRICS_MAX: '0' }) } });
    expect(dashboardBody(template)).not.toContain('top 10 queues');
    expect(queueAlarms(template)).toEqual([]);
  });

  it.each<[Partial<Record<ContextKey, string>>, RegExp]>([
    [{ queueMetricsMax: '-1' }, /integer 0…1000/],
    [{ queueMetricsMax: '1001' }, /integer 0…1000/],
    [{ queueMetricsMax: 'many' }, /integer 0…1000/],
    [{ queueMetricsQueues: 'jobs' }, /not project\/queue/],
    [{ queueMetricsQueues: 'acme/bad name' }, /not project\/queue/],
    [{ queueAlarmDepth: '0' }, /positive number/],
    [{ queueMetricsMax: '0', queueAlarmOldestAgeSeconds: '60' }, /needs per-queue metrics/],
  ])('rejects %j', (context, error) => {
    expect(() => fromContext({ trustProjectHeader: 'true', ...context })).toThrow(error);
  });
});
