/**
 * The Lambda authorizer's decisions (functions/auth/authorizer.ts and its entry point), with keys
 * generated here and an OpenID issuer served on 127.0.0.1 (discovery document + JWKS): a JWT is
 * accepted from `Authorization: Bearer` and from `X-Auth-Token` only when API Gateway's JWT
 * authorizer would have accepted it; a signed URL only when Zaqar's check holds. Secrets Manager
 * is mocked (aws-sdk-client-mock) for the entry point and its secret cache.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context } from 'aws-lambda';
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAuthorizer, type AuthorizerEvent, type AuthorizerHandler } from '../../functions/auth/authorizer.js';
import { createSignedUrl } from '../../functions/auth/signed-url.js';
import { ManualClock } from '../../functions/core/clock.js';
import { secretsManagerSecrets } from '../../functions/entry/secrets.js';
import { startIssuer, TEST_AUDIENCE as AUDIENCE, type TestIssuer } from '../support/issuer.js';

const SIGNING_SECRET = 'signing-secret-for-tests';
/** Signed URLs are judged by this clock; `jose` judges JWTs by the wall clock, so it starts there. */
const clock = new ManualClock(Date.now());

let idp: TestIssuer;
let issuer = '';
beforeAll(async () => {
  idp = await startIssuer();
  issuer = idp.url;
});
afterAll(() => idp.stop());

/** A token from the test issuer, with the project claim. */
const token = (over: JWTPayload = {}, options: { stranger?: boolean; kid?: string; expiresIn?: number } = {}) =>
  idp.mint({ project_id: 'p-jwt', ...over }, options);

function authorizerEvent(method: string, path: string, headers: Record<string, string>): AuthorizerEvent {
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: 'arn:aws:execute-api:eu-west-1:123456789012:api/$default/GET/v2/queues',
    identitySource: [],
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    cookies: [],
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    requestContext: { http: { method, path }, requestId: 'r1' } as unknown as AuthorizerEvent['requestContext'],
  };
}

let authorize: AuthorizerHandler;
beforeAll(() => {
  authorize = createAuthorizer({
    jwt: { issuer, audience: [AUDIENCE, 'client-b'], projectClaim: 'project_id' },
    secrets: { signingSecret: () => Promise.resolve(SIGNING_SECRET) },
    clock,
  });
});

const decide = async (headers: Record<string, string>, method = 'GET', path = '/v2/queues') => {
  const result = await authorize(authorizerEvent(method, path, headers));
  // Always authorized: the function enforces the verdict (with Zaqar's statuses and bodies).
  expect(result.isAuthorized).toBe(true);
  return result.context;
};

describe('JWTs', () => {
  it('accepts a valid token as a bearer token, without the scheme, and as X-Auth-Token', async () => {
    const t = await token();
    expect(await decide({ Authorization: `Bearer ${t}` })).toEqual({ project: 'p-jwt', via: 'jwt' });
    expect(await decide({ authorization: `bearer ${t}` })).toEqual({ project: 'p-jwt', via: 'jwt' });
    expect(await decide({ Authorization: t })).toEqual({ project: 'p-jwt', via: 'jwt' });
    expect(await decide({ 'X-Auth-Token': t })).toEqual({ project: 'p-jwt', via: 'jwt' });
  });

  it('takes the project from the token, never from X-Project-ID', async () => {
    expect(await decide({ 'X-Auth-Token': await token(), 'X-Project-ID': 'someone-else' })).toEqual({ project: 'p-jwt', via: 'jwt' });
  });

  it('accepts any configured audience, or client_id when the token has no aud (Cognito access tokens)', async () => {
    expect(await decide({ 'X-Auth-Token': await token({ aud: 'client-b' }) })).toMatchObject({ project: 'p-jwt' });
    expect(await decide({ 'X-Auth-Token': await token({ aud: ['x', 'client-a'] }) })).toMatchObject({ project: 'p-jwt' });
    expect(await decide({ 'X-Auth-Token': await token({ aud: undefined, client_id: 'client-a' }) })).toMatchObject({ project: 'p-jwt' });
  });

  it.each([
    ['expired', () => token({}, { expiresIn: -10 })],
    ['without exp', () => token({ exp: undefined })],
    ['not yet valid', () => token({ nbf: Math.floor(Date.now() / 1000) + 600 })],
    ['from another issuer', () => token({ iss: 'https://issuer.example.com' })],
    ['for another audience', () => token({ aud: 'client-z' })],
    ['client_id ignored when aud is present', () => token({ aud: 'client-z', client_id: 'client-a' })],
    ['without the project claim', () => token({ project_id: undefined })],
    ['with an empty project', () => token({ project_id: '' })],
    ['signed by another key', () => token({}, { stranger: true })],
    ['naming an unknown key', () => token({}, { kid: 'k2' })],
    ['unsigned (alg none)', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: issuer, aud: AUDIENCE, project_id: 'p', exp: 9e9 })).toString('base64url')}.`],
    ['HMAC-signed with the public key', async () => new SignJWT({ iss: issuer, aud: AUDIENCE, project_id: 'p', exp: 9_999_999_999 }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode('k'))],
    ['garbage', async () => 'not.a.jwt'],
  ])('refuses a token %s (401 in the function)', async (_what, make) => {
    const t = await make();
    for (const headers of [{ Authorization: `Bearer ${t}` }, { 'X-Auth-Token': t }] as Record<string, string>[]) {
      expect(await decide(headers)).toMatchObject({ denied: 'unauthorized' });
    }
  });

  it('no credentials at all → unauthorized', async () => {
    expect(await decide({ 'X-Project-ID': 'p1' })).toMatchObject({ denied: 'unauthorized', reason: 'no credentials' });
  });

  it("the issuer's keys unreachable → unavailable (503), never unauthorized", async () => {
    const fresh = createAuthorizer({ jwt: { issuer, audience: [AUDIENCE], projectClaim: 'project_id' }, secrets: { signingSecret: () => Promise.resolve('s') }, clock });
    idp.setAvailable(false);
    try {
      const t = await token();
      expect((await fresh(authorizerEvent('GET', '/v2/queues', { 'x-auth-token': t }))).context).toMatchObject({ denied: 'unavailable' });
    } finally {
      idp.setAvailable(true);
    }
    // Discovery is retried after a failure.
    expect((await fresh(authorizerEvent('GET', '/v2/queues', { 'x-auth-token': await token() }))).context).toEqual({ project: 'p-jwt', via: 'jwt' });
  });
});

describe('signed URLs', () => {
  const grant = () =>
    createSignedUrl(SIGNING_SECRET, {
      paths: ['/v2/queues/q1/messages'],
      methods: ['GET'],
      project: 'p-signed',
      expiresMs: clock.now() + 3_600_000,
    });
  const headers = (g = grant()): Record<string, string> => ({
    'URL-Signature': g.signature,
    'URL-Expires': g.expires,
    'URL-Methods': g.methods.join(','),
    'URL-Paths': g.paths.join(','),
    'X-Project-ID': g.project,
  });

  it('accepts a valid grant for exactly its method and paths', async () => {
    expect(await decide(headers(), 'GET', '/v2/queues/q1/messages')).toEqual({ project: 'p-signed', via: 'signed-url' });
    expect(await decide(headers(), 'GET', '/v2/queues/q1/messages/m1')).toEqual({ project: 'p-signed', via: 'signed-url' });
  });

  it.each([
    ['another method', {}, 'DELETE', '/v2/queues/q1/messages'],
    ['another path', {}, 'GET', '/v2/queues/q1/stats'],
    ['another queue', {}, 'GET', '/v2/queues/q2/messages'],
    ['another project', { 'X-Project-ID': 'p-other' }, 'GET', '/v2/queues/q1/messages'],
    ['a tampered signature', { 'URL-Signature': '0'.repeat(64) }, 'GET', '/v2/queues/q1/messages'],
    ['a tampered expiry', { 'URL-Expires': '2999-01-01T00:00:00' }, 'GET', '/v2/queues/q1/messages'],
  ])('refuses %s (404 in the function)', async (_what, over, method, path) => {
    expect(await decide({ ...headers(), ...over }, method, path)).toMatchObject({ denied: 'not-found' });
  });

  it('refuses an expired grant', async () => {
    const h = headers();
    clock.advance(3_600_000);
    try {
      expect(await decide(h, 'GET', '/v2/queues/q1/messages')).toMatchObject({ denied: 'not-found', reason: 'signed URL: expired' });
    } finally {
      clock.advance(-3_600_000);
    }
  });

  it('a signature is judged on its own: a valid JWT does not rescue a bad signature (Zaqar checks signatures first)', async () => {
    const h = { ...headers(), 'URL-Signature': '0'.repeat(64), 'X-Auth-Token': await token() };
    expect(await decide(h, 'GET', '/v2/queues/q1/messages')).toMatchObject({ denied: 'not-found' });
  });

  it('an unreadable signing secret → unavailable', async () => {
    const broken = createAuthorizer({
      jwt: { issuer, audience: [AUDIENCE], projectClaim: 'project_id' },
      secrets: { signingSecret: () => Promise.reject(new Error('AccessDenied')) },
      clock,
    });
    expect((await broken(authorizerEvent('GET', '/v2/queues/q1/messages', headers()))).context).toMatchObject({ denied: 'unavailable' });
  });
});

describe('entry point (functions/entry/authorizer.ts) and the Secrets Manager cache', () => {
  const sm = mockClient(SecretsManagerClient);
  const ENV = ['JWT_ISSUER', 'JWT_AUDIENCE', 'PROJECT_CLAIM', 'SIGNING_SECRET_ARN'] as const;
  const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
  afterEach(() => {
    sm.reset();
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('builds from the environment: issuer, audiences, PROJECT_CLAIM, the signing secret (read once, then cached)', async () => {
    Object.assign(process.env, { JWT_ISSUER: issuer, JWT_AUDIENCE: `x, ${AUDIENCE}`, PROJECT_CLAIM: 'tenant', SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:s' });
    sm.on(GetSecretValueCommand).resolves({ SecretString: SIGNING_SECRET });
    vi.resetModules();
    const { authorize: handler } = await import('../../functions/entry/authorizer.js');
    const context = { awsRequestId: 'a', functionName: 'authorizer' } as Context;
    const t = await token({ tenant: 't-1' });
    expect((await handler(authorizerEvent('GET', '/v2/queues', { 'x-auth-token': t }), context)).context).toEqual({ project: 't-1', via: 'jwt' });
    const g = createSignedUrl(SIGNING_SECRET, { paths: ['/v2/queues/q/messages'], methods: ['GET'], project: 'p', expiresMs: Date.now() + 60_000 });
    const signed = { 'url-signature': g.signature, 'url-expires': g.expires, 'url-methods': 'GET', 'url-paths': g.paths[0] as string, 'x-project-id': 'p' };
    for (let i = 0; i < 3; i++) {
      expect((await handler(authorizerEvent('GET', '/v2/queues/q/messages', signed), context)).context).toEqual({ project: 'p', via: 'signed-url' });
    }
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toMatchObject({ SecretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:s' });
  });

  it('a function without the secret ARN cannot read it (the request answers 503)', async () => {
    const secrets = secretsManagerSecrets({});
    await expect(secrets.signingSecret()).rejects.toThrow(/SIGNING_SECRET_ARN is not set/);
    await expect(secrets.messageSecret()).rejects.toThrow(/MESSAGE_KEY_SECRET_ARN is not set/);
  });

  it('refuses to start without JWT settings', async () => {
    vi.resetModules();
    const { jwtSettingsFromEnv } = await import('../../functions/entry/authorizer.js');
    expect(() => jwtSettingsFromEnv({ JWT_AUDIENCE: 'a' })).toThrow(/JWT_ISSUER/);
    expect(jwtSettingsFromEnv({ JWT_ISSUER: 'https://i', JWT_AUDIENCE: 'a,b' })).toEqual({ issuer: 'https://i', audience: ['a', 'b'], projectClaim: 'project_id' });
  });
});
