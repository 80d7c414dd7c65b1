/**
 * An in-process service for integration tests: the real HTTP server and handlers over the
 * shared DynamoDB Local, on a table of its own, with a clock the test can move forward.
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { OffsetClock } from '../../functions/core/clock.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../functions/local/stack.js';
import type { ApiConfig } from '../../functions/http/context.js';

export interface TestStack extends LocalStack {
  readonly clock: OffsetClock;
}

const quietLogger = { info: () => undefined, error: () => undefined };

export async function startTestStack(
  config?: Partial<ApiConfig>,
  hooks: Pick<LocalStackOptions, 'decorateClient' | 'authorizer' | 'secrets'> = {},
): Promise<TestStack> {
  const clock = new OffsetClock();
  const stack = await startLocalStack({
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `t-${randomUUID()}`,
    clock,
    logRequest: () => undefined,
    logger: quietLogger,
    ...(config ? { config } : {}),
    ...hooks,
  });
  return { ...stack, clock };
}

export const newQueueName = (): string => `q-${randomUUID()}`;
export const newClientId = (): string => randomUUID();
