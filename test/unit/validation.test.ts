/**
 * Boundary tables for functions/http/validation.ts (Zaqar's transport/validation.py style):
 * every limit is exercised at min-1 / min / max / max+1, every failure is an ApiError with
 * Zaqar's title, never a plain Error (which the HTTP layer would turn into a 503).
 */
import { describe, expect, it } from 'vitest';
import { ApiError, INVALID_REQUEST } from '../../functions/core/errors.js';
import { LIMITS } from '../../functions/core/limits.js';
import {
  boolParam,
  byteLength,
  hasLoneSurrogate,
  intParam,
  INVALID_BODY,
  messagesLimitText,
  normalizeClientId,
  parseClaimBody,
  parseJson,
  parseMessagePost,
  parseMetadataPatch,
  parsePurge,
  parseQueueMetadata,
  queueDefaults,
  rangeCheck,
  EXTENSION_DEFAULTS,
  RESERVED_DEFAULTS,
  validateMetadata,
  validateProjectId,
  validateQueueName,
} from '../../functions/http/validation.js';

const DEFAULTS = queueDefaults(undefined);

/** Runs `fn` and returns the ApiError it throws (fails the test if it throws anything else or nothing). */
function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected an ApiError, nothing was thrown');
}

const post = (messages: unknown) => JSON.stringify({ messages });
const oneMessage = (fields: Record<string, unknown>) => post([{ body: 'b', ...fields }]);

/** `{"k":"xxx…"}` serialized to exactly `bytes` bytes (8 bytes of JSON around the string). */
const metadataOfBytes = (bytes: number) => ({ k: 'x'.repeat(bytes - JSON.stringify({ k: '' }).length) });

/** A POST /messages body of exactly `bytes` bytes. */
function postBodyOfBytes(bytes: number): string {
  const overhead = post([{ body: '' }]).length;
  return post([{ body: 'x'.repeat(bytes - overhead) }]);
}

describe('message ttl and delay (POST /messages body)', () => {
  it.each([
    [LIMITS.MESSAGE_TTL_MIN - 1, false],
    [LIMITS.MESSAGE_TTL_MIN, true],
    [LIMITS.MESSAGE_TTL_MAX, true],
    [LIMITS.MESSAGE_TTL_MAX + 1, false],
  ])('ttl %i accepted: %s', (ttl, ok) => {
    const parse = () => parseMessagePost(oneMessage({ ttl }), DEFAULTS);
    if (ok) expect(parse()).toEqual([{ body: 'b', ttl, delay: 0 }]);
    else {
      const err = apiError(parse);
      expect(err.kind).toBe('bad-request');
      expect(err.title).toBe(INVALID_REQUEST);
      expect(err.description).toBe(
        'The TTL for a message may not exceed 1209600 seconds, and must be at least 60 seconds long.',
      );
    }
  });

  it.each([
    [-1, false],
    [0, true],
    [LIMITS.MESSAGE_DELAY_MAX, true],
    [LIMITS.MESSAGE_DELAY_MAX + 1, false],
  ])('delay %i accepted: %s', (delay, ok) => {
    const parse = () => parseMessagePost(oneMessage({ delay }), DEFAULTS);
    if (ok) expect(parse()).toEqual([{ body: 'b', ttl: LIMITS.MESSAGE_TTL_DEFAULT, delay }]);
    else expect(apiError(parse).description).toMatch(/^The Delay TTL for a message may not exceed 900 seconds/);
  });

  it('defaults come from the queue when the message omits them', () => {
    const custom = queueDefaults({ _default_message_ttl: 120, _default_message_delay: 30 });
    expect(parseMessagePost(post([{ body: 1 }]), custom)).toEqual([{ body: 1, ttl: 120, delay: 30 }]);
    expect(parseMessagePost(post([{ body: 1 }]), DEFAULTS)).toEqual([
      { body: 1, ttl: LIMITS.MESSAGE_TTL_DEFAULT, delay: LIMITS.MESSAGE_DELAY_DEFAULT },
    ]);
  });

  it.each([
    ['a float', 60.5],
    ['a string', '60'],
    ['a boolean', true],
    ['null', null],
    ['an object', {}],
  ])('ttl as %s is "must be a int."', (_label, ttl) => {
    const err = apiError(() => parseMessagePost(oneMessage({ ttl }), DEFAULTS));
    expect(err.title).toBe(INVALID_BODY);
    expect(err.description).toBe('The value of the "ttl" field must be a int.');
  });

  it('body may be any JSON value, null included', () => {
    const bodies = [null, 0, false, '', [], {}, { deep: [1, { x: 'y' }] }];
    const parsed = parseMessagePost(post(bodies.map((body) => ({ body }))), DEFAULTS);
    expect(parsed.map((m) => m.body)).toEqual(bodies);
  });
});

describe('POST /messages body shape', () => {
  it.each([
    ['[] of messages', post([]), INVALID_REQUEST, 'No messages to enqueu.'],
    ['a bare list', JSON.stringify([{ body: 1 }]), INVALID_REQUEST, 'No messages were found in the request body.'],
    ['no messages key', JSON.stringify({ other: 1 }), INVALID_REQUEST, 'No messages were found in the request body.'],
    ['messages not a list', JSON.stringify({ messages: { body: 1 } }), INVALID_BODY, 'Document type not supported.'],
    ['a non-object item', post([1]), INVALID_BODY, 'Document type not supported.'],
    ['a null item', post([null]), INVALID_BODY, 'Document type not supported.'],
    ['an item without body', post([{ ttl: 60 }]), INVALID_BODY, 'Missing "body" field.'],
    ['invalid JSON', '{"messages": [', INVALID_BODY, 'Request body could not be parsed.'],
    ['NaN', '{"messages": [{"body": NaN}]}', INVALID_BODY, 'Request body could not be parsed.'],
    ['an empty body', '', INVALID_BODY, 'Request body can not be empty'],
  ])('%s → 400', (_label, text, title, description) => {
    const err = apiError(() => parseMessagePost(text, DEFAULTS));
    expect(err.kind).toBe('bad-request');
    expect({ title: err.title, description: err.description }).toEqual({ title, description });
  });

  it('missing body text is "can not be empty"', () => {
    expect(apiError(() => parseMessagePost(undefined, DEFAULTS)).description).toBe('Request body can not be empty');
  });

  it.each([
    [LIMITS.MESSAGE_POST_MAX_BYTES, true],
    [LIMITS.MESSAGE_POST_MAX_BYTES + 1, false],
  ])('a request of %i bytes accepted: %s', (bytes, ok) => {
    const text = postBodyOfBytes(bytes);
    expect(byteLength(text)).toBe(bytes);
    if (ok) expect(parseMessagePost(text, DEFAULTS)).toHaveLength(1);
    else expect(apiError(() => parseMessagePost(text, DEFAULTS)).description).toBe('Message collection size is too large. Max size 262144');
  });

  it('counts bytes, not UTF-16 units: multi-byte characters count fully', () => {
    const overhead = post([{ body: '' }]).length;
    // 'é' is 2 bytes in UTF-8: one more than half the room tips the request over.
    const room = LIMITS.MESSAGE_POST_MAX_BYTES - overhead;
    expect(parseMessagePost(post([{ body: 'é'.repeat(room / 2) }]), DEFAULTS)).toHaveLength(1);
    expect(() => parseMessagePost(post([{ body: 'é'.repeat(room / 2) + 'x' }]), DEFAULTS)).toThrow(ApiError);
  });

  it('a queue _max_messages_post_size lowers the cap', () => {
    const small = queueDefaults({ _max_messages_post_size: 100 });
    const at = postBodyOfBytes(100);
    expect(parseMessagePost(at, small)).toHaveLength(1);
    expect(apiError(() => parseMessagePost(postBodyOfBytes(101), small)).description).toMatch(
      /^Message collection size is too large\. The max size for current queue is 100\./,
    );
  });
});

describe('claim ttl and grace', () => {
  const claim = (doc: Record<string, unknown>) => () => parseClaimBody(JSON.stringify(doc), false);

  it.each([
    [LIMITS.CLAIM_TTL_MIN - 1, false],
    [LIMITS.CLAIM_TTL_MIN, true],
    [LIMITS.CLAIM_TTL_MAX, true],
    [LIMITS.CLAIM_TTL_MAX + 1, false],
  ])('ttl %i accepted: %s', (ttl, ok) => {
    if (ok) expect(claim({ ttl })()).toEqual({ ttl, grace: LIMITS.CLAIM_GRACE_DEFAULT });
    else {
      expect(apiError(claim({ ttl })).description).toBe(
        'The TTL for a claim may not exceed 43200 seconds, and must be at least 60 seconds long.',
      );
    }
  });

  it.each([
    [LIMITS.CLAIM_GRACE_MIN - 1, false],
    [LIMITS.CLAIM_GRACE_MIN, true],
    [LIMITS.CLAIM_GRACE_MAX, true],
    [LIMITS.CLAIM_GRACE_MAX + 1, false],
  ])('grace %i accepted: %s', (grace, ok) => {
    if (ok) expect(claim({ grace })()).toEqual({ ttl: LIMITS.CLAIM_TTL_DEFAULT, grace });
    else {
      expect(apiError(claim({ grace })).description).toBe(
        'The grace for a claim may not exceed 43200 seconds, and must be at least 60 seconds long.',
      );
    }
  });

  it('an empty body means the defaults on create and is refused on renew', () => {
    expect(parseClaimBody(undefined, false)).toEqual({ ttl: LIMITS.CLAIM_TTL_DEFAULT, grace: LIMITS.CLAIM_GRACE_DEFAULT });
    expect(parseClaimBody('  ', false)).toEqual({ ttl: LIMITS.CLAIM_TTL_DEFAULT, grace: LIMITS.CLAIM_GRACE_DEFAULT });
    expect(apiError(() => parseClaimBody(undefined, true)).title).toBe(INVALID_BODY);
  });

  it.each([['[]'], ['"x"'], ['1'], ['{"ttl": "60"}'], ['{"ttl": 60.5}'], ['{"grace": true}']])(
    'claim body %s → 400 Invalid request body',
    (text) => {
      expect(apiError(() => parseClaimBody(text, false)).title).toBe(INVALID_BODY);
    },
  );
});

describe('limits (integer query parameters + range)', () => {
  const pageLimit = (raw: string) =>
    rangeCheck(intParam('limit', raw) ?? LIMITS.MESSAGES_PER_PAGE_DEFAULT, 1, LIMITS.MESSAGES_PER_PAGE_MAX, messagesLimitText(LIMITS.MESSAGES_PER_PAGE_MAX));

  it.each([
    ['0', false],
    ['1', true],
    ['20', true],
    ['21', false],
  ])('limit=%s accepted: %s', (raw, ok) => {
    if (ok) expect(pageLimit(raw)).toBe(Number(raw));
    else {
      const err = apiError(() => pageLimit(raw));
      expect(err.title).toBe(INVALID_REQUEST);
      expect(err.description).toBe('Limit must be at least 1 and may not be greater than 20.');
    }
  });

  it('every per-request count limit is 20', () => {
    expect([
      LIMITS.MESSAGES_PER_PAGE_MAX,
      LIMITS.MESSAGES_PER_CLAIM_MAX,
      LIMITS.MESSAGES_PER_POP_MAX,
      LIMITS.MESSAGE_IDS_MAX,
      LIMITS.QUEUES_PER_PAGE_MAX,
    ]).toEqual([20, 20, 20, 20, 20]);
  });

  it.each([['1.5'], ['1e3'], ['0x10'], [' 5'], ['5,5'], ['ten'], ['١'], ['9'.repeat(16)]])(
    'intParam refuses %j with "Invalid parameter"',
    (raw) => {
      const err = apiError(() => intParam('limit', raw));
      expect(err.title).toBe('Invalid parameter');
      expect(err.description).toBe('The "limit" parameter is invalid. The value must be an integer.');
    },
  );

  it('intParam: absent or empty is undefined, signs are allowed', () => {
    expect(intParam('limit', undefined)).toBeUndefined();
    expect(intParam('limit', '')).toBeUndefined();
    expect(intParam('limit', '-3')).toBe(-3);
    expect(intParam('limit', '007')).toBe(7);
  });

  it.each([
    ['true', true],
    ['True', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['off', false],
  ])('boolParam(%j) is %s', (raw, value) => {
    expect(boolParam('echo', raw)).toBe(value);
  });

  it('boolParam: absent means the fallback, junk is 400', () => {
    expect(boolParam('echo', undefined)).toBe(false);
    expect(boolParam('echo', '', true)).toBe(true);
    expect(apiError(() => boolParam('echo', 'maybe')).description).toBe(
      'The "echo" parameter is invalid. The value of the parameter must be "true" or "false".',
    );
  });

  // The message listing marker has its own module and tests: functions/core/marker.ts, test/unit/marker.test.ts.
});

describe('queue names and project ids', () => {
  const NAME_TITLE = 'Invalid queue identification';

  it.each([
    ['a'.repeat(LIMITS.QUEUE_NAME_MAX), true],
    ['a'.repeat(LIMITS.QUEUE_NAME_MAX + 1), false],
    ['Az09_.-', true],
    ['', false],
    ['a b', false],
    ['a/b', false],
    ['a#b', false],
    ['a%b', false],
    ['ü', false],
    ['a\nb', false],
    ['a*', false],
  ])('queue name %j accepted: %s', (name, ok) => {
    if (ok) expect(validateQueueName(name)).toBe(name);
    else {
      const err = apiError(() => validateQueueName(name));
      expect(err.title).toBe(NAME_TITLE);
      expect(err.description).toBe('The format of the submitted queue name or project id is not valid.');
    }
  });

  it.each([
    [undefined, 'Project-Id Missing'],
    ['', 'Project-Id Missing'],
    ['p'.repeat(LIMITS.PROJECT_ID_MAX + 1), NAME_TITLE],
    ['a\u0000b', NAME_TITLE],
    ['a\u007fb', NAME_TITLE],
    ['a\ud800b', NAME_TITLE],
  ])('project %j → 400 %s', (project, title) => {
    expect(apiError(() => validateProjectId(project)).title).toBe(title);
  });

  it('project ids up to 256 chars, with separators and unicode, are accepted', () => {
    for (const p of ['p'.repeat(LIMITS.PROJECT_ID_MAX), 'a#b', 'a.b', 'ü-tenant', 'x y']) expect(validateProjectId(p)).toBe(p);
  });
});

describe('Client-ID forms (canonical UUID, or 32 hex digits)', () => {
  const HEX = '3f2504e04f8941d39a0c0305e82c3301';

  it.each([
    ['dashed', '3f2504e0-4f89-41d3-9a0c-0305e82c3301'],
    ['undashed', HEX],
    ['upper case', HEX.toUpperCase()],
    ['upper case, dashed', '3F2504E0-4F89-41D3-9A0C-0305E82C3301'],
    ['surrounding spaces', ' 3f2504e0-4f89-41d3-9a0c-0305e82c3301 '],
  ])('%s is normalized to 32 lowercase hex', (_label, raw) => {
    expect(normalizeClientId(raw)).toBe(HEX);
  });

  it.each([
    ['not a uuid', 'not-a-uuid'],
    ['31 hex digits', HEX.slice(1)],
    ['33 hex digits', `${HEX}0`],
    ['a non-hex digit', `g${HEX.slice(1)}`],
    ['a lone surrogate', `${HEX.slice(1)}\ud800`],
    // Python's uuid.UUID() takes these; one client must not have several spellings.
    ['braces', '{3f2504e0-4f89-41d3-9a0c-0305e82c3301}'],
    ['urn:uuid:', 'urn:uuid:3f2504e0-4f89-41d3-9a0c-0305e82c3301'],
    ['dashes elsewhere', '3f2504e04-f89-41d3-9a0c-0305e82c3301'],
    ['dashes everywhere', HEX.split('').join('-')],
    ['one dash missing', '3f2504e04f89-41d3-9a0c-0305e82c3301'],
    ['a trailing dash', `${HEX}-`],
  ])('%s → 400 Wrong UUID value', (_label, raw) => {
    const err = apiError(() => normalizeClientId(raw));
    expect(err.title).toBe('Wrong UUID value');
    expect(err.description).toBe('Malformed hexadecimal UUID.');
  });

  it.each([[undefined], [''], ['   ']])('%j → 400 Missing header value', (raw) => {
    const err = apiError(() => normalizeClientId(raw));
    expect(err.title).toBe('Missing header value');
    expect(err.description).toBe('The Client-ID header is required.');
  });
});

describe('strict JSON', () => {
  it.each([
    ['NaN', '{"a": NaN}'],
    ['Infinity', '{"a": Infinity}'],
    ['-Infinity', '[-Infinity]'],
    ['trailing garbage', '{} x'],
    ['single quotes', "{'a': 1}"],
    ['an escaped lone high surrogate', '{"a": "\\ud800"}'],
    ['an escaped lone low surrogate', '["\\udc00x"]'],
    ['a lone surrogate in a key', '{"\\ud83d": 1}'],
    ['a raw lone surrogate', '["\ud800"]'],
  ])('%s → 400 Invalid request body', (_label, text) => {
    const err = apiError(() => parseJson(text));
    expect(err.title).toBe(INVALID_BODY);
  });

  it('a valid surrogate pair is fine', () => {
    expect(parseJson('{"e": "\\ud83d\\ude00"}')).toEqual({ e: '😀' });
    expect(hasLoneSurrogate('😀')).toBe(false);
    expect(hasLoneSurrogate('\ude00\ud83d')).toBe(true);
  });

  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

  it.each([
    [LIMITS.JSON_MAX_DEPTH, true],
    [LIMITS.JSON_MAX_DEPTH + 1, false],
    [100_000, false],
  ])('nesting depth %i accepted: %s', (depth, ok) => {
    if (ok) expect(parseJson(nested(depth))).toBeInstanceOf(Array);
    else expect(apiError(() => parseJson(nested(depth))).description).toBe('JSON nesting may not be deeper than 64 levels.');
  });

  it('brackets inside strings do not count as nesting', () => {
    const text = JSON.stringify({ s: '['.repeat(1000), t: 'a\\"[[' });
    expect(parseJson(text)).toEqual({ s: '['.repeat(1000), t: 'a\\"[[' });
  });

  it('deep nesting inside a message post is a 400, not a stack overflow', () => {
    const text = `{"messages": [{"body": ${nested(10_000)}}]}`;
    expect(apiError(() => parseMessagePost(text, DEFAULTS)).kind).toBe('bad-request');
  });
});

describe('queue metadata', () => {
  it.each([
    [LIMITS.QUEUE_METADATA_MAX_BYTES, true],
    [LIMITS.QUEUE_METADATA_MAX_BYTES + 1, false],
  ])('metadata of %i bytes accepted: %s', (bytes, ok) => {
    const meta = metadataOfBytes(bytes);
    const text = JSON.stringify(meta);
    expect(byteLength(text)).toBe(bytes);
    if (ok) {
      expect(parseQueueMetadata(text)).toEqual(meta);
      expect(validateMetadata(meta)).toBe(meta);
    } else {
      const description = `Queue metadata is too large. Max size: ${LIMITS.QUEUE_METADATA_MAX_BYTES}`;
      expect(apiError(() => parseQueueMetadata(text)).description).toBe(description);
      expect(apiError(() => validateMetadata(meta)).description).toBe(description);
    }
  });

  it('an absent or blank PUT body is empty metadata; a non-object is refused', () => {
    expect(parseQueueMetadata(undefined)).toEqual({});
    expect(parseQueueMetadata(' ')).toEqual({});
    for (const text of ['[]', '"x"', '3', 'null']) {
      expect(apiError(() => parseQueueMetadata(text)).description).toBe('Document type not supported.');
    }
  });

  it.each([
    ['_default_message_ttl', LIMITS.MESSAGE_TTL_MIN - 1, false],
    ['_default_message_ttl', LIMITS.MESSAGE_TTL_MIN, true],
    ['_default_message_ttl', LIMITS.MESSAGE_TTL_MAX, true],
    ['_default_message_ttl', LIMITS.MESSAGE_TTL_MAX + 1, false],
    ['_default_message_ttl', 0, false],
    ['_default_message_ttl', '3600', false],
    ['_default_message_ttl', true, false],
    ['_default_message_delay', -1, false],
    ['_default_message_delay', 0, true],
    ['_default_message_delay', LIMITS.MESSAGE_DELAY_MAX, true],
    ['_default_message_delay', LIMITS.MESSAGE_DELAY_MAX + 1, false],
    ['_max_messages_post_size', 0, false],
    ['_max_messages_post_size', 1, true],
    ['_max_messages_post_size', LIMITS.MESSAGE_POST_MAX_BYTES, true],
    ['_max_messages_post_size', LIMITS.MESSAGE_POST_MAX_BYTES + 1, false],
    ['_max_claim_count', 0, false],
    ['_max_claim_count', 1, true],
    ['_max_claim_count', 1.5, false],
    ['_dead_letter_queue_messages_ttl', LIMITS.MESSAGE_TTL_MIN - 1, false],
    ['_dead_letter_queue_messages_ttl', LIMITS.MESSAGE_TTL_MIN, true],
    ['_dead_letter_queue', 'dlq', true],
    ['_dead_letter_queue', 'a'.repeat(LIMITS.QUEUE_NAME_MAX + 1), false],
    ['_dead_letter_queue', 'bad name', false],
    ['_dead_letter_queue', 7, false],
    ['_dead_letter_queue', '', false],
  ])('reserved %s = %j accepted: %s', (key, value, ok) => {
    const meta = { [key]: value };
    if (ok) expect(validateMetadata(meta)).toEqual(meta);
    else expect(apiError(() => validateMetadata(meta)).title).toBe(INVALID_REQUEST);
  });

  it('PATCH validation uses the "Invalid request body" title', () => {
    expect(apiError(() => validateMetadata({ _default_message_ttl: 1 }, INVALID_BODY)).title).toBe(INVALID_BODY);
  });

  it('queueDefaults: stored reserved keys win, junk falls back', () => {
    expect(queueDefaults(undefined)).toEqual({
      ttl: RESERVED_DEFAULTS._default_message_ttl,
      delay: RESERVED_DEFAULTS._default_message_delay,
      maxPostBytes: RESERVED_DEFAULTS._max_messages_post_size,
      wait: EXTENSION_DEFAULTS._default_wait_seconds,
    });
    expect(queueDefaults({ _default_message_ttl: 61, _max_messages_post_size: 1000, _default_wait_seconds: 20 })).toEqual({
      ttl: 61,
      delay: 0,
      maxPostBytes: 1000,
      wait: 20,
    });
    expect(queueDefaults({ _default_message_ttl: 'x' }).ttl).toBe(LIMITS.MESSAGE_TTL_DEFAULT);
  });
});

describe('JSON-patch bodies', () => {
  const patch = (ops: unknown) => () => parseMetadataPatch(JSON.stringify(ops));

  it('parses add/replace/remove on /metadata/<key>, unescaping ~1 and ~0', () => {
    expect(
      patch([
        { op: 'add', path: '/metadata/a', value: 1 },
        { op: 'replace', path: '/metadata/b~1c~0d', value: null },
        { op: 'remove', path: '/metadata/e' },
      ])(),
    ).toEqual([
      { op: 'add', key: 'a', value: 1 },
      { op: 'replace', key: 'b/c~d', value: null },
      { op: 'remove', key: 'e' },
    ]);
  });

  it.each([
    ['an object body', { op: 'add' }, 'Request body must be a JSON array of operation objects.'],
    ['a non-object op', [1], 'Operations must be JSON objects.'],
    ['no op', [{ path: '/metadata/a' }], 'Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.'],
    ['a bad op', [{ op: 'move', path: '/metadata/a' }], 'Invalid operation: `move`. It must be one of the following: add, remove, replace.'],
    ['no path', [{ op: 'remove' }], "Unable to find 'path' in JSON Schema change"],
    ['a relative path', [{ op: 'remove', path: 'metadata/a' }], 'Pointer `metadata/a` does not start with "/".'],
    ['adjacent slashes', [{ op: 'remove', path: '/metadata//a' }], 'Pointer `/metadata//a` contains adjacent "/".'],
    ['a trailing slash', [{ op: 'remove', path: '/metadata/a/' }], 'Pointer `/metadata/a/` end with "/".'],
    ['a bad escape', [{ op: 'remove', path: '/metadata/a~2' }], 'Pointer `/metadata/a~2` contains "~" not part of a recognized escape sequence.'],
    ['three tokens', [{ op: 'remove', path: '/metadata/a/b' }], "Invalid JSON pointer for this resource: '/metadata/a/b, e.g /metadata/key'"],
    ['another root', [{ op: 'add', path: '/meta/a', value: 1 }], 'The root of path must be metadata, e.g /metadata/key.'],
    ['add without value', [{ op: 'add', path: '/metadata/a' }], 'Operation "add" requires a member named "value".'],
  ])('%s → 400 Invalid request body', (_label, ops, description) => {
    const err = apiError(patch(ops));
    expect({ title: err.title, description: err.description }).toEqual({ title: INVALID_BODY, description });
  });

  it('an empty or oversized PATCH body is refused', () => {
    expect(apiError(() => parseMetadataPatch(undefined)).description).toBe('PATCH body could not be empty for update.');
    const big = JSON.stringify([{ op: 'add', path: '/metadata/a', value: 'x'.repeat(LIMITS.QUEUE_METADATA_MAX_BYTES) }]);
    expect(apiError(() => parseMetadataPatch(big)).description).toBe('Queue metadata is too large. Max size: 65536');
  });
});

describe('purge bodies', () => {
  it('an empty body purges everything; a subset is kept as given', () => {
    expect(parsePurge(undefined)).toEqual(new Set(['messages', 'subscriptions']));
    expect(parsePurge('{"resource_types": ["messages"]}')).toEqual(new Set(['messages']));
    expect(parsePurge('{"resource_types": []}')).toEqual(new Set());
  });

  it.each([
    ['{}', 'Post body must contain key "resource_types".'],
    ['{"resource_types": ["queues"]}', "Resource types must be a sub set of {'messages', 'subscriptions'}."],
    ['{"resource_types": "messages"}', "Resource types must be a sub set of {'messages', 'subscriptions'}."],
    ['{"resource_types": [1]}', "Resource types must be a sub set of {'messages', 'subscriptions'}."],
  ])('%s → 400 Invalid API request', (text, description) => {
    const err = apiError(() => parsePurge(text));
    expect({ title: err.title, description: err.description }).toEqual({ title: INVALID_REQUEST, description });
  });

  it('a non-object purge body is 400, not a crash', () => {
    expect(apiError(() => parsePurge('["messages"]')).title).toBe(INVALID_BODY);
  });
});
