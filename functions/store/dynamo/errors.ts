/** Recognizing DynamoDB's outcome exceptions by name (works for real SDK errors and for mocks). */
import type { TransactionCanceledException, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

const named = (err: unknown, name: string): boolean =>
  typeof err === 'object' && err !== null && (err as { name?: unknown }).name === name;

export const isConditionalCheckFailed = (err: unknown): err is ConditionalCheckFailedException =>
  named(err, 'ConditionalCheckFailedException');

export const isTransactionCanceled = (err: unknown): err is TransactionCanceledException =>
  named(err, 'TransactionCanceledException');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
