/** Starts one DynamoDB Local for the whole test run (BullMQ-style: one real backend, created once). */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../functions/local/dynamodb-local.js';

let dynamo: DynamoDbLocal | undefined;

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}

export async function setup(project: TestProject): Promise<void> {
  if (process.env.DYNAMODB_ENDPOINT) {
    project.provide('dynamoEndpoint', process.env.DYNAMODB_ENDPOINT);
    return;
  }
  dynamo = await startDynamoDbLocal({ readyTimeoutMs: 60_000 });
  project.provide('dynamoEndpoint', dynamo.endpoint);
}

export async function teardown(): Promise<void> {
  await dynamo?.stop();
}
