/**
 * Names and defaults of the environment the stack gives the functions: pure data, so the CDK
 * code (lib/) can import it without loading any runtime code.
 */

/** Secret ARNs, one variable per secret a function may read (functions/entry/secrets.ts). */
export const SECRET_ENV = { signing: 'SIGNING_SECRET_ARN', message: 'MESSAGE_KEY_SECRET_ARN' } as const;

/** JWT claim carrying the project when PROJECT_CLAIM is not set (functions/entry/authorizer.ts). */
export const DEFAULT_PROJECT_CLAIM = 'project_id';

/**
 * Per-queue metrics (core/queue-metrics.ts), given to the sweeper (its metrics step) and to the
 * API functions that note queue activity: the cap (0 = off) and the optional allow-list.
 */
export const QUEUE_METRICS_ENV = { max: 'QUEUE_METRICS_MAX', allow: 'QUEUE_METRICS_QUEUES' } as const;
/** The message of the notifier's one report line per invocation (its counts); the stack's metric filters match it. */
export const DELIVERY_REPORT = 'deliveries';

/**
 * Lanes a new queue spreads over (functions/store/dynamo/schema.ts, parseLanesPerQueue): read by
 * the API functions (which create queues) and the sweeper (a redrive may create its destination).
 */
export const LANES_ENV = 'LANES_PER_QUEUE';
