/**
 * DynamoDB client factory. The endpoint is a parameter so the same store code talks to AWS,
 * DynamoDB Local, or a mock; nothing here runs at import time.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8000 for DynamoDB Local; undefined for AWS. */
  readonly endpoint?: string;
  readonly region?: string;
  /** SDK attempts per request (standard retry mode: exponential backoff with jitter on throttling). */
  readonly maxAttempts?: number;
  /** Per-request timeout in ms; a hung connection becomes a retryable error instead of a hung Lambda. */
  readonly requestTimeoutMs?: number;
}

export function createDocumentClient(options: ClientOptions = {}): DynamoDBDocumentClient {
  const config: DynamoDBClientConfig = {
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    maxAttempts: options.maxAttempts ?? 5,
    retryMode: 'standard',
    // NOTE: without throwOnRequestTimeout the Node handler only logs a warning and keeps waiting.
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 3_000, connectionTimeout: 1_000, throwOnRequestTimeout: true },
  };
  if (options.endpoint) {
    config.endpoint = options.endpoint;
    // DynamoDB Local accepts any credentials; never pick up a developer's real ones for it.
    config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  }
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}
