/** Recognizing DynamoDB's outcome exceptions by name (works for real SDK errors and for mocks). */
import type { AttributeValue, TransactionCanceledException, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

const named = (err: unknown, name: string): boolean =>
  typeof err === 'object' && err !== null && (err as { name?: unknown }).name === name;

export const isConditionalCheckFailed = (err: unknown): err is ConditionalCheckFailedException =>
  named(err, 'ConditionalCheckFailedException');

export const isTransactionCanceled = (err: unknown): err is TransactionCanceledException =>
  named(err, 'TransactionCanceledException');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The item a refused conditional write returned (`ReturnValuesOnConditionCheckFailure: ALL_OLD`).
 * NOTE: the document client does not unmarshall exceptions, so the item may arrive marshalled.
 */
export function refusedItem(err: unknown): Record<string, unknown> | undefined {
  const item = (err as { Item?: unknown } | undefined)?.Item;
  if (!item || typeof item !== 'object') return undefined;
  const values = Object.values(item as Record<string, unknown>);
  const marshalled = values.some((v) => v !== null && typeof v === 'object' && !Array.isArray(v) && ['N', 'S', 'BOOL', 'L', 'M', 'NULL'].some((t) => t in (v as object)));
  return marshalled ? (unmarshall(item as Record<string, AttributeValue>) as Record<string, unknown>) : (item as Record<string, unknown>);
}
