/**
 * Zaqar's pre-signed URLs (`zaqar/common/urls.py`, `transport/wsgi/v2_0/urls.py`,
 * `common/transport/wsgi/helpers.py` verify_pre_signed_url), byte for byte: the same HMAC-SHA256
 * over the same text, so a URL signed here verifies in Zaqar with the same key and the other way
 * round, and python-zaqarclient's `signed-url` auth backend works unchanged. Pure: no I/O, the
 * key and the time are arguments.
 *
 * Where this is stricter than Zaqar (docs/zaqar-reference.md, "Signed URLs"):
 * - paths are compared as literal strings, not as regular expressions (Zaqar's `re.search` lets
 *   a URL for queue `a.b` open `axb`, and any path that merely contains a granted one): a request
 *   is covered by a granted path when it is that path or one item below it (`…/messages/{id}`,
 *   `…/claims/{cid}`, the "single resource" access Zaqar's tests rely on);
 * - an empty `URL-Signature` header is a failed signature (Zaqar skips verification then, while
 *   its auth middleware already let the request past Keystone);
 * - signatures are compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Request headers of a signed request (python-zaqarclient's `signed-url` backend sends them). */
export const SIGNED_URL_HEADERS = {
  signature: 'url-signature',
  expires: 'url-expires',
  methods: 'url-methods',
  paths: 'url-paths',
  project: 'x-project-id',
} as const;

/** What a signature grants: exactly these paths and methods, for this project, until `expires`. */
export interface SignedUrl {
  /** Sorted, as Zaqar returns them. */
  readonly paths: string[];
  /** Sorted. */
  readonly methods: string[];
  readonly project: string;
  /** UTC, `YYYY-MM-DDTHH:MM:SS` (Zaqar's `_DATE_FORMAT`, no zone designator). */
  readonly expires: string;
  /** Lowercase hex HMAC-SHA256. */
  readonly signature: string;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Zaqar's `expires.strftime('%Y-%m-%dT%H:%M:%S')` of a UTC time: seconds truncated, no zone. */
export function formatExpires(ms: number): string {
  const d = new Date(ms);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/**
 * ISO 8601 date-times as oslo's `timeutils.parse_isotime` reads them: a date, optionally a time
 * (`T` or a space; minutes, seconds and a fraction optional), optionally `Z` or an offset. A
 * time without a zone is UTC. Returns epoch ms truncated to the second (Zaqar normalizes to UTC
 * and formats without the fraction), or undefined when the text is not such a date-time.
 */
export function parseExpires(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', , zone] = m;
  const fields = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s)] as const;
  const [year, month, day, hour, minute, second] = fields;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 31 February over into March: such a date does not exist.
  if (new Date(utc).getUTCDate() !== day || year < 1) return undefined;
  let offsetMinutes = 0;
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = sign * (oh * 60 + om);
  }
  return utc - offsetMinutes * 60_000;
}

/**
 * Zaqar's HMAC body: `paths\nmethods\nproject\nexpires`, each list sorted and comma-joined.
 * NOTE: Zaqar writes it as a raw string (`r'%(paths)s\n…'`), so the separators are a backslash
 * and an `n` — two characters — not newlines. Copying that is what makes signatures agree.
 */
export function signedText(paths: readonly string[], methods: readonly string[], project: string, expires: string): string {
  return [[...paths].sort().join(','), [...methods].sort().join(','), project, expires].join('\\n');
}

const hmacHex = (key: string, text: string): string => createHmac('sha256', Buffer.from(key, 'utf8')).update(text, 'utf8').digest('hex');

/** Zaqar's `create_signed_url` for an expiry already validated to lie in the future. */
export function createSignedUrl(
  key: string,
  grant: { readonly paths: readonly string[]; readonly methods: readonly string[]; readonly project: string; readonly expiresMs: number },
): SignedUrl {
  const paths = [...grant.paths].sort();
  const methods = [...grant.methods].sort();
  const expires = formatExpires(grant.expiresMs);
  return { paths, methods, project: grant.project, expires, signature: hmacHex(key, signedText(paths, methods, grant.project, expires)) };
}

/** True when the request path is a granted path or one item below it (literal comparison). */
export function pathGranted(granted: readonly string[], requestPath: string): boolean {
  const path = requestPath.length > 1 ? requestPath.replace(/\/$/, '') : requestPath;
  return granted.some((p) => {
    if (p === '') return false;
    if (path === p) return true;
    if (!path.startsWith(`${p}/`)) return false;
    const rest = path.slice(p.length + 1);
    return rest.length > 0 && !rest.includes('/');
  });
}

/** The parts of a request a signature is checked against. */
export interface SignedRequest {
  readonly method: string;
  /** Raw path, without the query string. */
  readonly path: string;
  /** Case-insensitive header lookup. */
  header(name: string): string | undefined;
}

/** Whether the request claims to be signed: it carries `URL-Signature` (even empty). */
export const isSignedRequest = (req: Pick<SignedRequest, 'header'>): boolean => req.header(SIGNED_URL_HEADERS.signature) !== undefined;

/** Why a signed request was refused (for logs only: every failure answers the same 404). */
export type SignatureFailure = 'method' | 'path' | 'expires' | 'expired' | 'project' | 'signature';

/**
 * Verifies a signed request against `key` at `now` (epoch ms): the method must be one of
 * `URL-Methods`, the path covered by `URL-Paths`, `URL-Expires` a date-time in the future, and
 * `URL-Signature` Zaqar's HMAC of those three and `X-Project-ID`. Returns the project the
 * signature was made for, or why it failed.
 */
export function verifySignedRequest(
  key: string,
  req: SignedRequest,
  now: number,
): { readonly project: string } | { readonly failure: SignatureFailure } {
  const methods = (req.header(SIGNED_URL_HEADERS.methods) ?? '').split(',');
  const paths = (req.header(SIGNED_URL_HEADERS.paths) ?? '').split(',');
  const expiresText = req.header(SIGNED_URL_HEADERS.expires) ?? '';
  const project = req.header(SIGNED_URL_HEADERS.project);
  const signature = req.header(SIGNED_URL_HEADERS.signature) ?? '';
  if (!methods.includes(req.method)) return { failure: 'method' };
  if (!pathGranted(paths, req.path)) return { failure: 'path' };
  const expires = parseExpires(expiresText);
  if (expires === undefined) return { failure: 'expires' };
  if (expires <= now) return { failure: 'expired' };
  if (project === undefined || project === '') return { failure: 'project' };
  // Zaqar re-signs the normalized expiry, so `…T10:00:00.5+00:00` verifies like `…T10:00:00`.
  const expected = hmacHex(key, signedText(paths, methods, project, formatExpires(expires)));
  const given = Buffer.from(signature, 'utf8');
  const wanted = Buffer.from(expected, 'utf8');
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return { failure: 'signature' };
  return { project };
}
