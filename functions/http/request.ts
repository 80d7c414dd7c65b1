/**
 * The one request shape handlers see, built from an API Gateway HTTP API (payload 2.0) event.
 * The local server builds the same events, so handlers cannot tell the two apart.
 */
import type { APIGatewayProxyEventV2WithRequestContext, APIGatewayProxyResultV2 } from 'aws-lambda';
import { badRequest } from '../core/errors.js';

/** Authorizer data API Gateway attaches (JWT claims or IAM identity); absent in local mode. */
export interface AuthorizerContext {
  jwt?: { claims?: Record<string, string | number | boolean | string[]> };
  iam?: { accountId?: string; userArn?: string; callerId?: string };
  lambda?: Record<string, unknown>;
}

export interface RequestContextV2 {
  requestId: string;
  http: { method: string; path: string; sourceIp?: string; userAgent?: string; protocol?: string };
  routeKey?: string;
  stage?: string;
  timeEpoch?: number;
  authorizer?: AuthorizerContext;
  [key: string]: unknown;
}

export type HttpEvent = APIGatewayProxyEventV2WithRequestContext<RequestContextV2>;

export interface HttpResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

export type HttpResult = APIGatewayProxyResultV2 & HttpResponse;

/** Case-insensitive header lookup (API Gateway lower-cases names; be safe either way). */
export function header(event: HttpEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  const direct = headers[name.toLowerCase()];
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** A query parameter; repeated parameters arrive comma-joined, as API Gateway delivers them. */
export const query = (event: HttpEvent, name: string): string | undefined => event.queryStringParameters?.[name];

export const pathParam = (event: HttpEvent, name: string): string => {
  const raw = event.pathParameters?.[name] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // invalid escapes stay as sent; validation rejects them
  }
};

/** Size of the body as received, in bytes (before any decoding). */
export function bodyByteLength(event: HttpEvent): number {
  if (event.body === undefined || event.body === null) return 0;
  return event.isBase64Encoded ? Buffer.byteLength(event.body, 'base64') : Buffer.byteLength(event.body, 'utf8');
}

/** `fatal`: invalid UTF-8 throws instead of becoming U+FFFD; `ignoreBOM`: a BOM stays (and JSON.parse refuses it). */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The body as text. API Gateway delivers bodies it does not consider text base64-encoded
 * (`isBase64Encoded`), and so does the local server for bytes that are not UTF-8: they are
 * decoded strictly here. Throws 400 when the bytes are not valid UTF-8 — never a silently
 * "repaired" body that would then be stored and delivered.
 */
export function rawBody(event: HttpEvent): string | undefined {
  if (event.body === undefined || event.body === null) return undefined;
  if (!event.isBase64Encoded) return event.body;
  try {
    return STRICT_UTF8.decode(Buffer.from(event.body, 'base64'));
  } catch {
    throw badRequest('Request body could not be parsed: it is not valid UTF-8.', INVALID_BODY_TITLE);
  }
}

/** Zaqar's title for a body it cannot read (validation.ts re-exports it as INVALID_BODY). */
export const INVALID_BODY_TITLE = 'Invalid request body';

export const JSON_HEADERS = { 'content-type': 'application/json; charset=UTF-8' } as const;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export function empty(statusCode: number, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers, body: '' };
}
