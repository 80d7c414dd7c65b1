/**
 * An in-process service for integration tests: the real HTTP server and handlers over the
 * shared DynamoDB Local, on a table of its own, with a clock the test can move forward.
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { OffsetClock } from '../../functions/core/clock.js';
import { DEFAULT_CONTAINERS, startLocalStack, type LocalStack, type LocalStackOptions } from '../../functions/local/stack.js';
import type { ApiConfig } from '../../functions/http/context.js';

export interface TestStack extends LocalStack {
  readonly clock: OffsetClock;
}

const quietLogger = { info: () => undefined, error: () => undefined };

/**
 * The Lambda-faithful mode, as `npm start` runs by default: each request in an emulated container
 * of its own. Tests of races and contention use it, so no in-process sharing can hide one.
 */
export const LAMBDA_FAITHFUL = { containers: DEFAULT_CONTAINERS } as const;

export async function startTestStack(
  config?: Partial<ApiConfig>,
  hooks: Pick<LocalStackOptions, 'decorateClient' | 'containers' | 'containerWaitMs' | 'authorizer' | 'secrets' | 'queueMetrics' | 'notifications'> = {},
): Promise<TestStack> {
  const clock = new OffsetClock();
  const stack = await startLocalStack({
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `t-${randomUUID()}`,
    clock,
    logRequest: () => undefined,
    logger: quietLogger,
    ...(config ? { config } : {}),
    // Push delivery (a stream reader) only where a test asks for it with `notifications`: DynamoDB
    // Local serves every test file on one SQLite thread, and readers of idle streams cost it time.
    notifications: { deliver: false },
    ...hooks,
  });
  return { ...stack, clock };
}

export const newQueueName = (): string => `q-${randomUUID()}`;
export const newClientId = (): string => randomUUID();
