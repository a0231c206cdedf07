import express from 'express';
import request from 'supertest';
import { MemoryJobStore } from '../../../adapters/memory/memory-job-store';
import { silentLogger } from '../../logging';
import { createApp } from '../app';
import { errorHandler } from '../error-handler';
import { API_KEY_PREFIX, apiKeyAuthenticator, generateApiKey, sha256Hex } from './api-keys';
import { authenticate } from './authenticate';
import { requireRole } from './authorize';
import { rolesFromClaims } from './oidc';
import { createServiceCredential } from './service-credential';

const viewerKey = generateApiKey();
const senderKey = generateApiKey();
const keys = [
  { id: 'dashboard', sha256: viewerKey.sha256, roles: ['viewer' as const] },
  { id: 'modality-gw', sha256: senderKey.sha256, roles: ['sender' as const] },
];
const appWith = (auth: Parameters<typeof createApp>[0]['auth']) => createApp({ jobs: new MemoryJobStore(), fhir: null, readiness: [], logger: silentLogger, ...(auth ? { auth } : {}) });

describe('R11 API keys', () => {
  it('when a key is generated, then it is 256 random bits behind the cai_ prefix and the config holds only its SHA-256', () => {
    const a = generateApiKey();
    expect(a.key).toMatch(/^cai_[A-Za-z0-9_-]{43}$/);
    expect(a.sha256).toBe(sha256Hex(a.key));
    expect(a.sha256).not.toContain(a.key.slice(API_KEY_PREFIX.length));
    expect(generateApiKey().key).not.toBe(a.key);
  });

  it('when a configured key is presented as Bearer or X-API-Key, then the caller has its id and roles; an unknown key is 401 invalid_token', async () => {
    const app = appWith({ authenticators: [apiKeyAuthenticator(keys)], failedAttemptsPerMinute: 100 });
    expect((await request(app).get('/jobs').set('authorization', `Bearer ${viewerKey.key}`)).status).toBe(200);
    expect((await request(app).get('/jobs').set('x-api-key', viewerKey.key)).status).toBe(200);
    const wrongRole = await request(app).get('/jobs').set('x-api-key', senderKey.key);
    expect(wrongRole.status).toBe(403);
    expect(wrongRole.body.error.message).toBe('api-key "modality-gw" does not hold the viewer role this route needs');
    const forged = `${viewerKey.key.slice(0, -1)}${viewerKey.key.endsWith('A') ? 'B' : 'A'}`;
    const unknown = await request(app).get('/jobs').set('x-api-key', forged);
    expect(unknown.status).toBe(401);
    expect(unknown.headers['www-authenticate']).toBe('Bearer realm="clinical-ai", error="invalid_token", error_description="the API key is not known"');
    expect(JSON.stringify(unknown.body)).not.toContain(forged);
  });

  it('when authentication is configured, then a request without credentials is 401 with a Bearer challenge, and /healthz stays open', async () => {
    const app = appWith({ authenticators: [apiKeyAuthenticator(keys)], failedAttemptsPerMinute: 100 });
    const res = await request(app).get('/jobs');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="clinical-ai"');
    expect(res.body.error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await request(app).get('/healthz')).status).toBe(200);
    expect((await request(app).get('/readyz')).status).toBe(200);
    // Express would otherwise answer OPTIONS with a route's methods past every role check.
    const options = await request(app).options('/jobs/retry');
    expect(options.status).toBe(404);
    expect(options.headers['allow']).toBeUndefined();
    // Credentials of a kind nobody checks (a JWT with OIDC off, Basic) are refused, never taken for anonymous.
    expect((await request(app).get('/jobs').set('authorization', 'Basic YTpi')).status).toBe(401);
  });

  it('when no authentication is configured (loopback), then requests without credentials are anonymous with viewer, sender, operator but never admin', async () => {
    const app = appWith(undefined);
    expect((await request(app).get('/jobs')).status).toBe(200);
    const seen: unknown[] = [];
    const probe = express();
    probe.use(authenticate({ authenticators: [], anonymousRoles: ['viewer'], failedAttemptsPerMinute: 5 }, silentLogger));
    probe.get('/who', (_req, res) => {
      seen.push(res.locals.principal);
      res.json({});
    });
    probe.get('/admin', requireRole('admin'), (_req, res) => res.json({}));
    probe.use(errorHandler(silentLogger));
    await request(probe).get('/who');
    expect(seen).toEqual([{ kind: 'anonymous', subject: 'anonymous', roles: ['viewer'], clientAddress: expect.stringMatching(/127\.0\.0\.1|::1/) }]);
    expect((await request(probe).get('/admin')).status).toBe(403);
  });

  it('when the service presents its own credential, then it is admin; a guessed one is refused', async () => {
    const service = createServiceCredential();
    const app = express();
    app.use(authenticate({ authenticators: [service.authenticator], failedAttemptsPerMinute: 5 }, silentLogger));
    app.post('/write', requireRole('admin'), (_req, res) => res.json({ principal: res.locals.principal }));
    app.use(errorHandler(silentLogger));
    const ok = await request(app).post('/write').set('authorization', `Bearer ${service.token}`);
    expect(ok.status).toBe(200);
    expect(ok.body.principal).toMatchObject({ kind: 'service', subject: 'clinical-ai', roles: ['admin'] });
    expect((await request(app).post('/write').set('authorization', `Bearer ${createServiceCredential().token}`)).status).toBe(401);
  });
});

describe('R11 failed authentication attempts are rate-limited per client', () => {
  it('when a client keeps sending bad keys, then after the limit it gets 429 with Retry-After, even with a good key; requests without credentials do not count', async () => {
    const app = appWith({ authenticators: [apiKeyAuthenticator(keys)], failedAttemptsPerMinute: 5 });
    for (let i = 0; i < 10; i++) expect((await request(app).get('/jobs')).status).toBe(401);
    expect((await request(app).get('/jobs').set('x-api-key', viewerKey.key)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await request(app).get('/jobs').set('x-api-key', `cai_guess${i}`)).status).toBe(401);
    const limited = await request(app).get('/jobs').set('x-api-key', viewerKey.key);
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await request(app).get('/healthz')).status).toBe(200);
  });
});

describe('R11 roles from a token claim', () => {
  it('when the claim is an array, a space-separated string or nested (realm_access.roles), then our role names map 1:1 and others are ignored', () => {
    expect(rolesFromClaims({ roles: ['viewer', 'admin', 'nurse'] }, 'roles')).toEqual(['viewer', 'admin']);
    expect(rolesFromClaims({ scope: 'openid viewer sender' }, 'scope')).toEqual(['viewer', 'sender']);
    expect(rolesFromClaims({ realm_access: { roles: ['operator'] } }, 'realm_access.roles')).toEqual(['operator']);
    expect(rolesFromClaims({ realm_access: 'operator' }, 'realm_access.roles')).toEqual([]);
    expect(rolesFromClaims({}, 'roles')).toEqual([]);
  });

  it('when a roleMap is configured, then only mapped values give roles, and prototype keys give none', () => {
    const map = { radiologist: ['viewer' as const], 'pacs-admin': ['viewer' as const, 'operator' as const] };
    expect(rolesFromClaims({ roles: ['radiologist', 'pacs-admin', 'admin', 'constructor', '__proto__'] }, 'roles', map)).toEqual(['viewer', 'operator']);
  });
});
