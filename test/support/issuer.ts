/**
 * An OpenID issuer on 127.0.0.1 for tests: a discovery document and a JWKS with a key generated
 * here, and tokens minted with it (or with a stranger's key). Lets the authorizer's real
 * discovery, JWKS fetching and verification run without any network beyond the loopback.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';

export const TEST_AUDIENCE = 'client-a';

export interface TestIssuer {
  readonly url: string;
  /** A token with `iss`, `aud`, `sub`, `iat`, `exp` (+5 min) and `over` (undefined removes a claim). */
  mint(over?: JWTPayload, options?: { stranger?: boolean; kid?: string; expiresIn?: number }): Promise<string>;
  /** While false, discovery and JWKS answer 503. */
  setAvailable(available: boolean): void;
  stop(): Promise<void>;
}

export async function startIssuer(): Promise<TestIssuer> {
  const keys = await generateKeyPair('RS256');
  const stranger = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let available = true;
  let url = '';
  const server = createServer((req, res) => {
    if (!available) res.writeHead(503).end();
    else if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks.json` }));
    } else if (req.url === '/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async mint(over = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const claims: JWTPayload = { iss: url, aud: TEST_AUDIENCE, sub: 'user-1', iat: now, exp: now + (options.expiresIn ?? 300), ...over };
      for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
      const key = options.stranger ? stranger : keys;
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'k1' }).sign(key.privateKey);
    },
    setAvailable: (value) => {
      available = value;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
