/**
 * Issue #11 acceptance: bearer tokens from a real OpenID provider (oidc-provider, test/support/oidc-provider.ts)
 * are accepted with their mapped roles; expired, wrong-audience, wrong-issuer, `alg: none`, HS256-with-the-RSA-key
 * (algorithm confusion) and foreign-key-signed tokens are refused with 401; a key rotation at the provider is picked
 * up by fetching the JWKS again.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type express from 'express';
import { importJWK, SignJWT, type JWK } from 'jose';
import request from 'supertest';
import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import { createApp } from '../../src/http/app';
import { oidcAuthenticator, type OidcSettings } from '../../src/http/auth/oidc';
import { createLogger } from '../../src/logging';
import { generateJwk, publicJwk, startOidcProvider, type RunningOidcProvider } from '../support/oidc-provider';

const AUDIENCE = 'urn:clinical-ai';
const SECRET = 'secret-of-the-test-clients-0123456789';
const clients = [
  { client_id: 'dashboard', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic' as const, roles: ['viewer'] },
  { client_id: 'ris', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic' as const, roles: ['radiology-ops', 'unrelated'] },
  { client_id: 'brief', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic' as const, roles: ['viewer'], token_ttl: 1 },
];

const b64url = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('R11 OIDC bearer tokens against a real OpenID provider', () => {
  let provider: RunningOidcProvider;
  let other: RunningOidcProvider;
  let app: express.Express;
  let settings: OidcSettings;

  beforeAll(async () => {
    [provider, other] = await Promise.all([startOidcProvider({ clients, defaultAudience: AUDIENCE }), startOidcProvider({ clients, defaultAudience: AUDIENCE })]);
    settings = {
      issuer: provider.issuer,
      audience: AUDIENCE,
      algorithms: ['RS256', 'RS384', 'PS256', 'ES256', 'ES384'],
      clockToleranceSeconds: 0,
      rolesClaim: 'roles',
      jwksCooldownSeconds: 0,
    };
    app = createApp({
      jobs: new MemoryJobStore(),
      fhir: null,
      readiness: [],
      logger: createLogger({ level: 'silent' }),
      auth: {
        authenticators: [oidcAuthenticator({ ...settings, roleMap: { 'radiology-ops': ['viewer', 'operator'], viewer: ['viewer'] } }, createLogger({ level: 'silent' }))],
        failedAttemptsPerMinute: 100_000,
      },
    });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([provider?.stop(), other?.stop()]);
  });

  const get = (token: string, p = '/jobs') => request(app).get(p).set('authorization', `Bearer ${token}`);
  const expectRefused = async (token: string, reason: RegExp): Promise<void> => {
    const res = await get(token);
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(reason) });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="clinical-ai", error="invalid_token"/);
    expect(JSON.stringify(res.body) + String(res.headers['www-authenticate'])).not.toContain(token.split('.')[2] || token);
  };

  it('when a valid token is presented, then it is accepted with the roles mapped from its claim', async () => {
    const viewer = await provider.token('dashboard', SECRET);
    expect((await get(viewer)).status).toBe(200);
    expect((await request(app).post('/jobs/retry').set('authorization', `Bearer ${viewer}`).send({ state: 'failed' })).status).toBe(403);
    // roleMap: "radiology-ops" -> viewer + operator; "unrelated" gives nothing.
    const ris = await provider.token('ris', SECRET);
    expect((await get(ris)).status).toBe(200);
    const retry = await request(app).post('/jobs/retry').set('authorization', `Bearer ${ris}`).send({ state: 'failed' });
    expect(retry.status).toBe(200);
    expect((await get(ris, '/dicomweb/studies')).status).toBe(404);
  });

  it('when the token has expired, then 401 says so', async () => {
    const brief = await provider.token('brief', SECRET);
    expect((await get(brief)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    await expectRefused(brief, /expired/);
  });

  it('when the token is for another audience or from another issuer, then 401', async () => {
    await expectRefused(await provider.token('dashboard', SECRET, 'urn:some-other-api'), /"aud" claim/);
    // A real second provider: its keys are not the configured issuer's.
    await expectRefused(await other.token('dashboard', SECRET), /not signed by a key of the configured issuer/);
    // Signed with the issuer's own key but naming another issuer: the iss check itself.
    const key = provider.signingKeys[0] as JsonWebKey & { kid: string };
    const forged = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setIssuer(other.issuer)
      .setAudience(AUDIENCE)
      .setSubject('mallory')
      .setExpirationTime('5m')
      .sign(await importJWK(key as JWK, 'RS256'));
    await expectRefused(forged, /"iss" claim/);
  });

  it('when the token is unsigned (alg none), HS256-signed with the RSA public key, or signed by a foreign key with the same kid, then 401', async () => {
    const key = provider.signingKeys[0] as JsonWebKey & { kid: string };
    const claims = { iss: provider.issuer, aud: AUDIENCE, sub: 'mallory', roles: ['admin'], exp: Math.floor(Date.now() / 1000) + 300 };
    await expectRefused(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`, /not a valid signed JWT|algorithm/);
    // Algorithm confusion: the public key (as any verifier could fetch it) used as an HMAC secret.
    const pem = createPublicKey({ key: publicJwk(key), format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: key.kid }).sign(Buffer.from(pem));
    await expectRefused(hs, /algorithm that is not allowed/);
    const foreign = generateJwk('rsa', key.kid);
    const impostor = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(await importJWK(foreign as JWK, 'RS256'));
    await expectRefused(impostor, /signature is not valid/);
    // The provider's own token still passes: the refusals above are about the tokens, not the setup.
    expect((await get(await provider.token('dashboard', SECRET))).status).toBe(200);
  });

  it('when the provider rotates its signing key, then new tokens are accepted after the JWKS is fetched again, and old-key tokens are not', async () => {
    const before = await provider.token('dashboard', SECRET);
    expect((await get(before)).status).toBe(200);
    const port = Number(new URL(provider.issuer).port);
    await provider.stop();
    const rotated = generateJwk('rsa');
    provider = await startOidcProvider({ clients, defaultAudience: AUDIENCE, port, signingKeys: [rotated] });
    const after = await provider.token('dashboard', SECRET);
    expect(JSON.parse(Buffer.from(after.split('.')[0] as string, 'base64url').toString()).kid).toBe(rotated.kid);
    expect((await get(after)).status).toBe(200);
    await expectRefused(before, /not signed by a key of the configured issuer/);
  }, 60_000);

  it('when exp or nbf is off by less than clockToleranceSeconds, then the token passes; by more, or without exp, it is refused', async () => {
    const key = provider.signingKeys[0] as JsonWebKey & { kid: string };
    const now = Math.floor(Date.now() / 1000);
    const sign = async (claims: Record<string, unknown>): Promise<string> =>
      new SignJWT({ roles: ['viewer'], ...claims }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).setIssuer(provider.issuer).setAudience(AUDIENCE).setSubject('clock').sign(await importJWK(key as JWK, 'RS256'));
    const tolerant = createApp({
      jobs: new MemoryJobStore(),
      fhir: null,
      readiness: [],
      logger: createLogger({ level: 'silent' }),
      auth: { authenticators: [oidcAuthenticator({ ...settings, clockToleranceSeconds: 60 }, createLogger({ level: 'silent' }))], failedAttemptsPerMinute: 100 },
    });
    const status = async (token: string): Promise<number> => (await request(tolerant).get('/jobs').set('authorization', `Bearer ${token}`)).status;
    expect(await status(await sign({ exp: now - 30 }))).toBe(200);
    expect(await status(await sign({ exp: now + 300, nbf: now + 30 }))).toBe(200);
    expect(await status(await sign({ exp: now - 90 }))).toBe(401);
    expect(await status(await sign({ exp: now + 300, nbf: now + 90 }))).toBe(401);
    expect(await status(await sign({}))).toBe(401);
  });

  it('when the identity provider cannot be reached, then 503 AUTH_UNAVAILABLE, retryable, not 401', async () => {
    const down = createApp({
      jobs: new MemoryJobStore(),
      fhir: null,
      readiness: [],
      logger: createLogger({ level: 'silent' }),
      auth: { authenticators: [oidcAuthenticator({ ...settings, issuer: 'http://127.0.0.1:9' }, createLogger({ level: 'silent' }))], failedAttemptsPerMinute: 100 },
    });
    const res = await request(down).get('/jobs').set('authorization', `Bearer ${await provider.token('dashboard', SECRET)}`);
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'AUTH_UNAVAILABLE', retryable: true });
  });
});
