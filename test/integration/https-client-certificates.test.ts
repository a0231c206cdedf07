/**
 * Inbound HTTPS with client certificates (http.tls, auth.clientCertificates) over real TLS: certificates made by
 * openssl, the server from src/http/tls.ts, requests through node:https with and without a client certificate.
 */
import { createServer, request as httpsRequest, type Server } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import express from 'express';
import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import { loadConfig, type Config } from '../../src/config';
import type { Principal } from '../../src/domain/principal';
import { createApp } from '../../src/http/app';
import { authenticate } from '../../src/http/auth/authenticate';
import { clientCertificateAuthenticator, clientCertificatesConfigured, subjectMatches } from '../../src/http/auth/client-certificate';
import { httpAuthFromConfig } from '../../src/http/auth/settings';
import { errorHandler } from '../../src/http/error-handler';
import { httpsServerOptions } from '../../src/http/tls';
import { silentLogger } from '../../src/logging';
import { appErrorMessage } from '../support/app-error';
import { createTestPki, pem, type CertFiles, type TestPki } from '../support/test-pki';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** One HTTPS request that trusts the test CA, optionally with a client certificate; a TLS refusal rejects. */
function get(url: string, pki: TestPki, client?: CertFiles, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca: pem(pki.caCert), agent: false, ...(client ? { cert: pem(client.cert), key: pem(client.key) } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('inbound HTTPS with client certificates', () => {
  let pki: TestPki;
  let viewer: CertFiles;
  let gateway: CertFiles;
  let adminTool: CertFiles;
  let unlisted: CertFiles;
  let foreign: CertFiles;
  let expired: CertFiles;
  const configWith = (clientCertificates: 'optional' | 'required', mappings: Config['auth']['clientCertificates']): Config =>
    loadConfig({
      env: {},
      overrides: { http: { tls: { certFile: pki.server.cert, keyFile: pki.server.key, caFile: pki.caCert, clientCertificates } }, auth: { clientCertificates: mappings } },
    });

  beforeAll(async () => {
    pki = await createTestPki();
    viewer = await pki.client('dashboard', '/C=NL/O=Hospital/CN=dashboard');
    gateway = await pki.client('gateway', '/C=NL/O=Hospital/OU=Radiology/CN=ris-gateway');
    adminTool = await pki.client('admin-tool', '/O=Hospital/CN=admin-tool');
    unlisted = await pki.client('unlisted', '/O=Hospital/CN=somebody');
    // Same subject as the viewer, issued by another CA: must not pass for it.
    foreign = await pki.client('foreign', '/C=NL/O=Hospital/CN=dashboard', { foreign: true });
    expired = await pki.client('expired', '/C=NL/O=Hospital/CN=dashboard', { expired: true });
  }, 60_000);

  describe('with http.tls.clientCertificates "optional"', () => {
    let whoami: Server;
    let api: Server;
    let whoamiUrl: string;
    let apiUrl: string;
    let config: Config;

    beforeAll(async () => {
      config = configWith('optional', [
        { subject: 'dashboard', roles: ['viewer'] },
        { subject: 'CN=ris-gateway, OU=Radiology, O=Hospital, C=NL', roles: ['sender', 'operator'] },
        { sha256: await pki.fingerprint(adminTool.cert), roles: ['admin'] },
      ]);
      const tls = httpsServerOptions(config.http.tls);
      expect(tls).toBeDefined();
      const auth = httpAuthFromConfig(config, silentLogger, { clientCertificate: clientCertificateAuthenticator(config.auth.clientCertificates) });
      // A probe behind the real authentication chain: what principal does each certificate give?
      const probe = express();
      probe.use(authenticate(auth, silentLogger));
      probe.get('/whoami', (_req, res) => {
        const principal = res.locals.principal as Principal | undefined;
        if (principal) res.json(principal);
        else res.status(401).json({});
      });
      probe.use(errorHandler(silentLogger));
      whoami = createServer(tls ?? {}, probe);
      whoamiUrl = await listen(whoami);
      api = createServer(tls ?? {}, createApp({ jobs: new MemoryJobStore(), fhir: null, readiness: [], logger: silentLogger, auth }));
      apiUrl = await listen(api);
    });

    afterAll(async () => {
      await close(whoami);
      await close(api);
    });

    it('when client certificates are listed with HTTPS asking for them, then they count as configured authentication', () => {
      expect(clientCertificatesConfigured(config)).toBe(true);
      expect(clientCertificatesConfigured({ ...config, http: { ...config.http, tls: { ...config.http.tls, clientCertificates: 'none' } } })).toBe(false);
      expect(clientCertificatesConfigured({ ...config, auth: { ...config.auth, clientCertificates: [] } })).toBe(false);
    });

    it('when no client certificate is presented, then /healthz answers over HTTPS and a protected route is 401', async () => {
      expect((await get(`${apiUrl}/healthz`, pki)).status).toBe(200);
      const res = await get(`${apiUrl}/jobs`, pki);
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'UNAUTHORIZED' });
    });

    it('when a listed certificate is presented, then the caller is a client-certificate principal with its roles, matched by CN, by DN or by fingerprint', async () => {
      expect((await get(`${whoamiUrl}/whoami`, pki, viewer)).body).toEqual({ kind: 'client-certificate', subject: 'CN=dashboard,O=Hospital,C=NL', roles: ['viewer'], clientAddress: '127.0.0.1' });
      expect((await get(`${whoamiUrl}/whoami`, pki, gateway)).body).toMatchObject({ kind: 'client-certificate', subject: 'CN=ris-gateway,OU=Radiology,O=Hospital,C=NL', roles: ['sender', 'operator'] });
      expect((await get(`${whoamiUrl}/whoami`, pki, adminTool)).body).toMatchObject({ kind: 'client-certificate', subject: 'CN=admin-tool,O=Hospital', roles: ['admin'] });
    });

    it('when a mapped certificate calls the API, then its roles decide: viewer reads jobs (200) but may not retry them (403), operator may', async () => {
      expect((await get(`${apiUrl}/jobs`, pki, viewer)).status).toBe(200);
      const denied = await get(`${apiUrl}/jobs/retry`, pki, viewer, 'POST');
      expect(denied.status).toBe(403);
      expect(denied.body.error).toMatchObject({ code: 'FORBIDDEN' });
      expect((await get(`${apiUrl}/jobs/no-such-job/retry`, pki, gateway, 'POST')).status).toBe(404);
      expect((await get(`${apiUrl}/jobs`, pki, gateway)).status).toBe(403);
    });

    it('when a certificate of the trusted CA is not listed, then 401 says so', async () => {
      const res = await get(`${apiUrl}/jobs`, pki, unlisted);
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'UNAUTHORIZED', message: 'the client certificate is not listed in auth.clientCertificates' });
    });

    it('when a certificate from another CA carries a listed subject, then it is refused (401), as is an expired one of the trusted CA', async () => {
      const other = await get(`${apiUrl}/jobs`, pki, foreign);
      expect(other.status).toBe(401);
      expect(String((other.body.error as { message: string }).message)).toMatch(/^the client certificate did not verify \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
      expect((await get(`${whoamiUrl}/whoami`, pki, foreign)).status).toBe(401);
      const old = await get(`${apiUrl}/jobs`, pki, expired);
      expect(old.status).toBe(401);
      expect(String((old.body.error as { message: string }).message)).toMatch(/CERT_HAS_EXPIRED/);
    });

    it('when a client speaks plain HTTP to the HTTPS port, then it gets no API answer', async () => {
      const port = new URL(apiUrl).port;
      const outcome = await new Promise<string>((resolve) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => resolve(`status ${res.statusCode}`));
        req.on('error', (err) => resolve(`error ${err.message}`));
        req.end();
      });
      expect(outcome).not.toBe('status 200');
    });
  });

  describe('with http.tls.clientCertificates "required"', () => {
    let server: Server;
    let url: string;

    beforeAll(async () => {
      const config = configWith('required', [{ subject: 'dashboard', roles: ['viewer'] }]);
      const auth = httpAuthFromConfig(config, silentLogger, { clientCertificate: clientCertificateAuthenticator(config.auth.clientCertificates) });
      server = createServer(httpsServerOptions(config.http.tls) ?? {}, createApp({ jobs: new MemoryJobStore(), fhir: null, readiness: [], logger: silentLogger, auth }));
      url = await listen(server);
    });

    afterAll(() => close(server));

    it('when no client certificate is presented, then the TLS handshake is refused (not even /healthz answers)', async () => {
      await expect(get(`${url}/healthz`, pki)).rejects.toThrow(/certificate required|alert|socket hang up|ECONNRESET/i);
    });

    it('when a certificate from another CA is presented, then the handshake is refused; a listed one of the trusted CA gets its role', async () => {
      await expect(get(`${url}/jobs`, pki, foreign)).rejects.toThrow(/unknown ca|alert|socket hang up|ECONNRESET/i);
      expect((await get(`${url}/jobs`, pki, viewer)).status).toBe(200);
    });
  });

  describe('configuration', () => {
    it('when HTTPS keys are inconsistent, then loading the config fails naming each key', () => {
      const message = appErrorMessage('CONFIG_INVALID', () =>
        loadConfig({ env: {}, overrides: { http: { tls: { certFile: '/x/cert.pem', clientCertificates: 'required' } }, auth: { clientCertificates: [{ subject: 'a', roles: ['viewer'] }] } } }),
      );
      expect(message).toContain('http.tls.keyFile: required with http.tls.certFile');
      expect(message).toContain('http.tls.caFile: required with http.tls.clientCertificates "required"');
      const never = appErrorMessage('CONFIG_INVALID', () => loadConfig({ env: {}, overrides: { auth: { clientCertificates: [{ subject: 'a', roles: ['viewer'] }] } } }));
      expect(never).toContain('auth.clientCertificates: client certificates are never asked for');
    });

    it('when a mapping names both subject and fingerprint, or neither, or a malformed fingerprint, then the schema refuses it', () => {
      const fp = 'AB:'.repeat(31) + 'AB';
      for (const entry of [{ subject: 'a', sha256: fp, roles: ['viewer'] }, { roles: ['viewer'] }, { sha256: 'abc', roles: ['viewer'] }, { subject: 'a', roles: [] }]) {
        const overrides = { http: { tls: { certFile: 'c', keyFile: 'k', caFile: 'ca', clientCertificates: 'optional' } }, auth: { clientCertificates: [entry] } };
        expect(appErrorMessage('CONFIG_INVALID', () => loadConfig({ env: {}, overrides }))).toContain('auth.clientCertificates');
      }
      const ok = loadConfig({ env: {}, overrides: { http: { tls: { certFile: 'c', keyFile: 'k', caFile: 'ca', clientCertificates: 'optional' } }, auth: { clientCertificates: [{ sha256: fp.replace(/:/g, '').toLowerCase(), roles: ['viewer'] }] } } });
      expect(ok.auth.clientCertificates).toHaveLength(1);
      expect(ok.http.tls.minVersion).toBe('TLSv1.2');
    });

    it('when http.tls is set from the environment, then the keys are read like any other (CLINICAL_AI_HTTP_TLS_*)', () => {
      const config = loadConfig({ env: { CLINICAL_AI_HTTP_TLS_CERT_FILE: '/run/secrets/tls.crt', CLINICAL_AI_HTTP_TLS_KEY_FILE: '/run/secrets/tls.key', CLINICAL_AI_HTTP_TLS_MIN_VERSION: 'TLSv1.3' } });
      expect(config.http.tls).toMatchObject({ certFile: '/run/secrets/tls.crt', keyFile: '/run/secrets/tls.key', clientCertificates: 'none', minVersion: 'TLSv1.3' });
    });

    it('when a certificate file cannot be read, then the error names the key and the file but nothing of any file content', () => {
      const keyFile = path.join(pki.dir, 'server.key');
      const message = appErrorMessage('CONFIG_INVALID', () => httpsServerOptions({ certFile: path.join(pki.dir, 'missing.pem'), keyFile, caFile: '', clientCertificates: 'none', minVersion: 'TLSv1.2' }));
      expect(message).toBe(`http.tls.certFile: cannot read ${path.join(pki.dir, 'missing.pem')} (ENOENT)`);
      expect(httpsServerOptions({ certFile: '', keyFile: '', caFile: '', clientCertificates: 'none', minVersion: 'TLSv1.2' })).toBeUndefined();
    });

    it('when the server key is unusable, then creating the server fails rather than serving without TLS', () => {
      const bad = path.join(pki.dir, 'bad.key');
      writeFileSync(bad, 'not a key');
      const options = httpsServerOptions({ certFile: pki.server.cert, keyFile: bad, caFile: '', clientCertificates: 'none', minVersion: 'TLSv1.2' });
      expect(() => createServer(options ?? {})).toThrow();
    });
  });
});

describe('client certificate subjects', () => {
  const subject = 'C=NL\nO=Hospital\nOU=Radiology\nCN=ris-gateway';
  it.each([
    ['ris-gateway', true],
    ['RIS-GATEWAY', false],
    ['/C=NL/O=Hospital/OU=Radiology/CN=ris-gateway', true],
    ['C = NL, O = Hospital, OU = Radiology, CN = ris-gateway', true],
    ['CN=ris-gateway,OU=Radiology,O=Hospital,C=NL', true],
    ['cn=ris-gateway,ou=Radiology,o=Hospital,c=NL', true],
    ['CN=ris-gateway,O=Hospital,C=NL', false],
    ['CN=ris-gateway', false],
    ['Hospital', false],
  ])('when the configured subject is %j, then it matches: %s', (configured, expected) => {
    expect(subjectMatches(configured, subject)).toBe(expected);
  });

  it('when a value contains an escaped separator, then it is one value', () => {
    expect(subjectMatches('CN=a\\,b,O=H', 'O=H\nCN=a,b')).toBe(true);
    expect(subjectMatches('/O=H/CN=a\\/b', 'O=H\nCN=a/b')).toBe(true);
  });
});
