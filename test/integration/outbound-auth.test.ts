import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import express from 'express';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { createOrthancSource } from '../../adapters/orthanc/orthanc-source';
import { OrthancRest } from '../../adapters/orthanc/orthanc-rest';
import { DicomWebAdapter } from '../../adapters/dicomweb/dicomweb-adapter';
import { createEmbeddedFhirApp, type EmbeddedFhir } from '../../adapters/fhir-embedded/embedded-fhir-app';
import { FhirClientSink } from '../../adapters/fhir/fhir-client-sink';
import { createOutboundTarget } from '../../adapters/outbound-auth';
import type { OutboundTargetConfig } from '../../src/outbound-config';
import { generateJwk, publicJwk, startOidcProvider, type RunningOidcProvider } from '../support/oidc-provider';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';
import { syntheticMrSeries, type SyntheticSeries } from '../support/synthetic-mr';
import { startTokenGate, type TokenGate } from '../support/token-gate';
import { makeTlsFixtures, type TlsFixtures } from '../support/tls-fixtures';
import { outboundCredentialsContract } from '../support/outbound-credentials-contract';
import { rejected } from '../support/app-error';

// Outbound authentication (issue #11): OAuth2 client credentials and SMART Backend Services against a real
// oidc-provider, a resource server that verifies tokens with jose in front of the real embedded FHIR store and a
// real Orthanc, and TLS with an openssl-made CA and client certificates.

const SECRET_BASIC = 'basic-secret-7c1f0e5a9d3b4a2c8e6f';
const SECRET_POST = 'post-secret-1a2b3c4d5e6f7a8b9c0d';
const SECRET_SHORT = 'short-secret-99887766554433221100';
const FHIR_AUDIENCE = 'https://fhir.hospital.test/R4';
const PACS_AUDIENCE = 'https://pacs.hospital.test';

const rsKey = generateJwk('rsa', 'rs-key-1');
const esKey = generateJwk('ec', 'es-key-1');
let provider: RunningOidcProvider;
let dir: string;
let rsKeyFile: string;
let esKeyPemFile: string;
let secretFile: string;

/** Every request our code sends to the provider's token endpoint (global fetch is what the target uses). */
let tokenBodies: URLSearchParams[] = [];
let fetchSpy: jest.SpiedFunction<typeof fetch>;

function settings(auth: Partial<OutboundTargetConfig['auth']>, tls: Partial<OutboundTargetConfig['tls']> = {}): OutboundTargetConfig {
  return {
    auth: {
      type: 'none', username: '', password: '', passwordFile: '', token: '', tokenFile: '', tokenUrl: '', issuer: '', clientId: '', clientSecret: '', clientSecretFile: '',
      tokenEndpointAuthMethod: 'client_secret_basic', privateKeyFile: '', keyId: '', algorithm: 'RS384', scope: '', resource: '', timeoutMs: 10_000, ...auth,
    },
    tls: { caFile: '', certFile: '', keyFile: '', ...tls },
  };
}


/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'outbound-auth-'));
  // The RSA key as a JWK file, the EC key as PEM: both formats the service reads.
  rsKeyFile = path.join(dir, 'rs.jwk.json');
  writeFileSync(rsKeyFile, JSON.stringify(rsKey));
  esKeyPemFile = path.join(dir, 'es.pem');
  const { createPrivateKey } = await import('node:crypto');
  writeFileSync(esKeyPemFile, createPrivateKey({ key: esKey, format: 'jwk' }).export({ format: 'pem', type: 'pkcs8' }));
  secretFile = path.join(dir, 'client-secret');
  writeFileSync(secretFile, `${SECRET_BASIC}\n`);
  provider = await startOidcProvider({
    clients: [
      { client_id: 'cs-basic', client_secret: SECRET_BASIC, token_endpoint_auth_method: 'client_secret_basic' },
      { client_id: 'cs-post', client_secret: SECRET_POST, token_endpoint_auth_method: 'client_secret_post' },
      { client_id: 'cs-short', client_secret: SECRET_SHORT, token_endpoint_auth_method: 'client_secret_basic', token_ttl: 3 },
      { client_id: 'smart-rs', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS384', jwks: { keys: [publicJwk(rsKey)] } },
      { client_id: 'smart-es', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES384', jwks: { keys: [publicJwk(esKey)] } },
    ],
  });
  const realFetch = globalThis.fetch;
  fetchSpy = jest.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url === provider.tokenEndpoint && typeof init?.body === 'string') tokenBodies.push(new URLSearchParams(init.body));
    return realFetch(input, init);
  });
}, 30_000);

afterAll(async () => {
  fetchSpy?.mockRestore();
  await provider?.stop();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  tokenBodies = [];
});

// The port's contract, against the real adapter and the real provider (the memory twin runs it in the unit tests).
outboundCredentialsContract('client credentials (client_secret_post, real provider)', () => createOutboundTarget('fhir', settings({ type: 'client-credentials', clientId: 'cs-post', clientSecret: SECRET_POST, tokenEndpointAuthMethod: 'client_secret_post', tokenUrl: provider.tokenEndpoint }), { url: FHIR_AUDIENCE }).target.credentials, { renewable: true, sendsAuthorization: true });
outboundCredentialsContract('private_key_jwt RS384 (real provider)', () => createOutboundTarget('fhir', settings({ type: 'private-key-jwt', clientId: 'smart-rs', privateKeyFile: rsKeyFile, tokenUrl: provider.tokenEndpoint }), { url: FHIR_AUDIENCE }).target.credentials, { renewable: true, sendsAuthorization: true });

describe('OAuth2 client credentials and SMART backend services against a real OpenID provider', () => {
  const methods: Array<[string, Partial<OutboundTargetConfig['auth']>]> = [
    ['client_secret_basic', { type: 'client-credentials', clientId: 'cs-basic', clientSecretFile: '', tokenEndpointAuthMethod: 'client_secret_basic' }],
    ['client_secret_post', { type: 'client-credentials', clientId: 'cs-post', clientSecret: SECRET_POST, tokenEndpointAuthMethod: 'client_secret_post' }],
    ['private_key_jwt RS384 (JWK file)', { type: 'private-key-jwt', clientId: 'smart-rs', algorithm: 'RS384' }],
    ['private_key_jwt ES384 (PEM file, keyId from config)', { type: 'private-key-jwt', clientId: 'smart-es', algorithm: 'ES384', keyId: 'es-key-1' }],
  ];

  it.each(methods)('when %s is configured, then 20 concurrent calls share one token request and the token verifies for the resource', async (_name, auth) => {
    const full = { ...auth, tokenUrl: provider.tokenEndpoint, scope: 'system/*.read', resource: FHIR_AUDIENCE };
    if (auth.clientId === 'cs-basic') full.clientSecretFile = secretFile;
    if (auth.type === 'private-key-jwt') full.privateKeyFile = auth.clientId === 'smart-rs' ? rsKeyFile : esKeyPemFile;
    const { target } = createOutboundTarget('fhir', settings(full), { url: FHIR_AUDIENCE });
    const all = await Promise.all(Array.from({ length: 20 }, () => target.credentials.headers()));
    expect(new Set(all.map((h) => h.authorization)).size).toBe(1);
    expect(tokenBodies).toHaveLength(1);
    // Cached: more calls later send nothing new.
    await target.credentials.headers();
    expect(tokenBodies).toHaveLength(1);
    const token = (all[0]?.authorization ?? '').replace(/^Bearer /, '');
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${provider.issuer}/jwks`)), { issuer: provider.issuer, audience: FHIR_AUDIENCE });
    expect(payload.client_id).toBe(auth.clientId);
    const body = tokenBodies[0];
    expect(body?.get('grant_type')).toBe('client_credentials');
    expect(body?.get('resource')).toBe(FHIR_AUDIENCE);
    expect(body?.get('client_secret') ?? undefined).toBe(auth.tokenEndpointAuthMethod === 'client_secret_post' ? SECRET_POST : undefined);
    await target.close();
  });

  it.each([
    ['RS384', 'smart-rs', 'rs-key-1'],
    ['ES384', 'smart-es', 'es-key-1'],
  ])('when a %s client assertion is sent, then it has kid, iss = sub = client_id, aud = token endpoint, exp at most 5 min ahead and a fresh jti each time', async (alg, clientId, kid) => {
    const { target } = createOutboundTarget('pacs', settings({ type: 'private-key-jwt', clientId, algorithm: alg as 'RS384', keyId: kid, privateKeyFile: alg === 'RS384' ? rsKeyFile : esKeyPemFile, tokenUrl: provider.tokenEndpoint }), { url: 'dicomweb:http://pacs' });
    const first = await target.credentials.headers();
    // A 401 drops the token: the next call asks again, with a new assertion.
    expect(target.credentials.rejected(first)).toBe(true);
    const second = await target.credentials.headers();
    expect(second.authorization).not.toBe(first.authorization);
    expect(tokenBodies).toHaveLength(2);
    const assertions = tokenBodies.map((b) => b.get('client_assertion') ?? '');
    for (const assertion of assertions) {
      expect(decodeProtectedHeader(assertion)).toMatchObject({ alg, kid, typ: 'JWT' });
      const claims = decodeJwt(assertion);
      expect(claims).toMatchObject({ iss: clientId, sub: clientId, aud: provider.tokenEndpoint });
      expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBeLessThanOrEqual(300);
      expect((claims.exp ?? 0) * 1000).toBeLessThanOrEqual(Date.now() + 300_000);
    }
    expect(tokenBodies[0]?.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(new Set(assertions.map((a) => decodeJwt(a).jti)).size).toBe(2);
    await target.close();
  });

  it('when only the issuer is configured, then the token endpoint comes from its discovery document', async () => {
    const { target } = createOutboundTarget('fhir', settings({ type: 'client-credentials', clientId: 'cs-post', clientSecret: SECRET_POST, tokenEndpointAuthMethod: 'client_secret_post', issuer: provider.issuer }), { url: FHIR_AUDIENCE });
    await expect(target.credentials.headers()).resolves.toMatchObject({ authorization: expect.stringMatching(/^Bearer /) });
    expect(tokenBodies).toHaveLength(1);
    await target.close();
  });

  it('when the token lives 3 s, then it is replaced before it expires (one new request), not on every call', async () => {
    const { target } = createOutboundTarget('fhir', settings({ type: 'client-credentials', clientId: 'cs-short', clientSecret: SECRET_SHORT, tokenUrl: provider.tokenEndpoint }), { url: FHIR_AUDIENCE });
    const first = await target.credentials.headers();
    await new Promise((r) => setTimeout(r, 800));
    expect(await target.credentials.headers()).toEqual(first);
    expect(tokenBodies).toHaveLength(1);
    // exp has whole seconds, so 3 s may be 2 s: refresh at 80% of that (1.6 s), before expiry.
    await new Promise((r) => setTimeout(r, 1_000));
    const second = await target.credentials.headers();
    expect(second.authorization).not.toBe(first.authorization);
    expect(tokenBodies).toHaveLength(2);
    const exp = decodeJwt((first.authorization ?? '').slice(7)).exp ?? 0;
    expect(Date.now()).toBeLessThan(exp * 1000);
    await target.close();
  });

  it('when the client secret is wrong, then a clear retryable PACS_REJECTED that names the key and not the secret', async () => {
    const wrong = 'wrong-secret-do-not-print-0123456789';
    const { target } = createOutboundTarget('pacs', settings({ type: 'client-credentials', clientId: 'cs-basic', clientSecret: wrong, tokenUrl: provider.tokenEndpoint }), { url: 'dicomweb:http://pacs' });
    const err = await rejected(target.credentials.headers());
    expect(err).toMatchObject({ code: 'PACS_REJECTED', retryable: true });
    expect(err.message).toMatch(/HTTP 401 invalid_client/);
    expect(err.message).toContain('outbound.pacs.auth');
    expect(err.message).not.toContain(wrong);
    expect(JSON.stringify(err.details)).not.toContain(wrong);
    await target.close();
  });

  it('when the token endpoint does not answer, then PACS_UNAVAILABLE (an outage the breaker can wait out)', async () => {
    const closed = await closedPort();
    const { target } = createOutboundTarget('pacs', settings({ type: 'client-credentials', clientId: 'x', clientSecret: SECRET_BASIC, tokenUrl: `http://127.0.0.1:${closed}/token` }), { url: 'dicomweb:http://pacs' });
    const err = await rejected(target.credentials.headers());
    expect(err.code).toBe('PACS_UNAVAILABLE');
    expect(err.message).toMatch(new RegExp(`token endpoint http://127\\.0\\.0\\.1:${closed}/token not reachable.*ECONNREFUSED`));
    expect(err.message).not.toContain(SECRET_BASIC);
  });
});

describe('a 401 from the FHIR server mid-run (real embedded FHIR store behind a token check)', () => {
  let fhir: EmbeddedFhir;
  let gate: TokenGate;

  beforeAll(async () => {
    fhir = await createEmbeddedFhirApp({});
    const app = express();
    app.use('/fhir', fhir.router);
    gate = await startTokenGate({ issuer: provider.issuer, audience: FHIR_AUDIENCE, upstream: app });
  });
  afterAll(async () => {
    await gate?.stop();
    await fhir?.close();
  });

  const bundle = (n: number): Bundle => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=urn:test|p${n}` }, resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test', value: `p${n}` }] } }],
  });

  it('when the token is revoked, then exactly one new token and the write succeeds; when every token is refused, then one retry and a clear retryable FHIR_REJECTED', async () => {
    const { target, url } = createOutboundTarget('fhir', settings({ type: 'client-credentials', clientId: 'cs-basic', clientSecretFile: secretFile, tokenUrl: provider.tokenEndpoint, resource: FHIR_AUDIENCE }), { url: `${gate.url}/fhir` });
    const sink = new FhirClientSink({ baseUrl: url, target });
    await sink.ping();
    await expect(sink.writeTransaction('k1', bundle(1))).resolves.toMatchObject({ type: 'transaction-response' });
    expect(tokenBodies).toHaveLength(1);
    expect(gate.refused).toBe(0);

    gate.revoke(gate.lastToken ?? '');
    await expect(sink.writeTransaction('k2', bundle(2))).resolves.toMatchObject({ type: 'transaction-response' });
    expect(tokenBodies).toHaveLength(2);
    expect(gate.refused).toBe(1);
    expect(target.authRetries).toBe(1);
    // And the new token stays in use.
    await sink.ping();
    expect(tokenBodies).toHaveLength(2);

    gate.refuseAll(true);
    const err = await rejected(sink.writeTransaction('k3', bundle(3)));
    expect(err).toMatchObject({ code: 'FHIR_REJECTED', retryable: true });
    expect(err.message).toMatch(/HTTP 401.*refused our credentials, check outbound\.fhir\.auth/);
    // One refresh for the call, no loop: two refusals, one more token request.
    expect(gate.refused).toBe(3);
    expect(tokenBodies).toHaveLength(3);
    gate.refuseAll(false);
    await target.close();
  });
});

describe('a PACS behind OAuth2: a real Orthanc behind an authenticating proxy', () => {
  let orthanc: TestOrthanc;
  let gate: TokenGate;
  let series: SyntheticSeries;

  beforeAll(async () => {
    orthanc = await startOrthanc({ stableAge: 60 });
    series = syntheticMrSeries({ slices: 2 });
    for (const file of series.files) await orthanc.upload(file);
    gate = await startTokenGate({ issuer: provider.issuer, audience: PACS_AUDIENCE, proxyTo: { baseUrl: orthanc.baseUrl, authorization: orthanc.authorization } });
  }, 60_000);
  afterAll(async () => {
    await gate?.stop();
    await orthanc?.stop();
  });

  it('when DICOMweb and Orthanc REST share the target, then one token serves both, and a revoked token is replaced once', async () => {
    const { target, url } = createOutboundTarget('pacs', settings({ type: 'private-key-jwt', clientId: 'smart-es', algorithm: 'ES384', keyId: 'es-key-1', privateKeyFile: esKeyPemFile, tokenUrl: provider.tokenEndpoint, resource: PACS_AUDIENCE }), { url: `orthanc:${gate.url}` });
    const baseUrl = url.slice('orthanc:'.length);
    const dicomweb = createOrthancSource({ baseUrl, target });
    const rest = new OrthancRest({ baseUrl, target });
    const study = await dicomweb.getStudy(series.studyInstanceUid);
    expect(study.series[0]?.instances).toHaveLength(2);
    expect(await rest.getJson<string[]>('/studies')).toHaveLength(1);
    expect(tokenBodies).toHaveLength(1);

    gate.revoke(gate.lastToken ?? '');
    const files = await dicomweb.retrieveInstances(series.studyInstanceUid, series.seriesInstanceUid, [series.sopInstanceUids[0] ?? '']);
    expect(files).toHaveLength(1);
    expect(tokenBodies).toHaveLength(2);
    expect(await rest.getJson<string[]>('/studies')).toHaveLength(1);
    expect(tokenBodies).toHaveLength(2);

    gate.refuseAll(true);
    const viaXhr = await rejected(dicomweb.getStudy(series.studyInstanceUid));
    expect(viaXhr).toMatchObject({ code: 'PACS_REJECTED', retryable: true });
    expect(viaXhr.message).toMatch(/refused our credentials \(HTTP 401\)/);
    const viaFetch = await rejected(rest.getJson('/studies'));
    expect(viaFetch).toMatchObject({ code: 'PACS_REJECTED', retryable: true });
    // Each failing call: one refused token, one refresh, one refused retry.
    expect(tokenBodies).toHaveLength(4);
    gate.refuseAll(false);
    await target.close();
  }, 30_000);
});

describe('TLS toward a target: hospital CA bundle and client certificates (mTLS)', () => {
  let tls: TlsFixtures;
  let server: https.Server;
  let base: string;

  beforeAll(async () => {
    tls = makeTlsFixtures();
    server = https.createServer(
      { cert: tls.read(tls.serverCertFile), key: tls.read(tls.serverKeyFile), ca: tls.read(tls.caFile), requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        res.setHeader('content-type', 'application/json');
        if (req.url?.startsWith('/fhir/metadata')) return res.end(JSON.stringify({ resourceType: 'CapabilityStatement', status: 'active' }));
        if (req.url?.startsWith('/dicom-web/studies')) return res.end('[]');
        res.end(JSON.stringify({ Name: 'tls-orthanc' }));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    tls?.remove();
  });

  it('when the CA is not configured, then the call fails saying the certificate is not trusted and naming tls.caFile', async () => {
    const { target } = createOutboundTarget('pacs', settings({}), { url: `orthanc:${base}` });
    const err = await rejected(new OrthancRest({ baseUrl: base, target }).getJson('/system'));
    expect(err.code).toBe('PACS_UNAVAILABLE');
    expect(err.message).toMatch(/TLS: .*caFile/);
  });

  it('when the CA is configured but no client certificate, then the call fails naming tls.certFile', async () => {
    const { target } = createOutboundTarget('pacs', settings({}, { caFile: tls.caFile }), { url: `orthanc:${base}` });
    const err = await rejected(new OrthancRest({ baseUrl: base, target }).getJson('/system'));
    expect(err.code).toBe('PACS_UNAVAILABLE');
    expect(err.message).toMatch(/certFile/);
    await target.close();
  });

  it('when the client certificate is from a CA the server does not trust, then refused', async () => {
    const { target } = createOutboundTarget('pacs', settings({}, { caFile: tls.caFile, certFile: tls.otherClientCertFile, keyFile: tls.otherClientKeyFile }), { url: `orthanc:${base}` });
    await expect(new OrthancRest({ baseUrl: base, target }).getJson('/system')).rejects.toMatchObject({ code: 'PACS_UNAVAILABLE' });
    await target.close();
  });

  it('when CA and client certificate are configured, then Orthanc REST (fetch), DICOMweb (xhr2) and the FHIR client (fhir-kit) all get through', async () => {
    const pacs = createOutboundTarget('pacs', settings({}, { caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile }), { url: `dicomweb:${base}/dicom-web` });
    await expect(new OrthancRest({ baseUrl: base, target: pacs.target }).getJson('/system')).resolves.toEqual({ Name: 'tls-orthanc' });
    await expect(new DicomWebAdapter({ url: `${base}/dicom-web`, target: pacs.target }).ping()).resolves.toBeUndefined();
    const fhir = createOutboundTarget('fhir', settings({}, { caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile }), { url: `${base}/fhir` });
    await expect(new FhirClientSink({ baseUrl: `${base}/fhir`, target: fhir.target }).ping()).resolves.toBeUndefined();
    // Without the client certificate the same FHIR call is refused: the TLS options really travel with fhir-kit.
    const noCert = createOutboundTarget('fhir', settings({}, { caFile: tls.caFile }), { url: `${base}/fhir` });
    await expect(new FhirClientSink({ baseUrl: `${base}/fhir`, target: noCert.target }).ping()).rejects.toMatchObject({ code: 'FHIR_UNAVAILABLE' });
    await Promise.all([pacs.target.close(), fhir.target.close(), noCert.target.close()]);
  });

  it('when the TLS files are incomplete or wrong, then start-up fails naming the key', () => {
    expect(() => createOutboundTarget('pacs', settings({}, { certFile: tls.clientCertFile }), { url: `orthanc:${base}` })).toThrow(/outbound\.pacs\.tls\.keyFile: required together with outbound\.pacs\.tls\.certFile/);
    expect(() => createOutboundTarget('fhir', settings({}, { caFile: path.join(tls.dir, 'missing.crt') }), { url: base })).toThrow(/outbound\.fhir\.tls\.caFile: cannot read the file \(ENOENT\)/);
    expect(() => createOutboundTarget('fhir', settings({}, { caFile: tls.clientKeyFile }), { url: base })).toThrow(/outbound\.fhir\.tls\.caFile: no PEM certificate/);
    expect(() => createOutboundTarget('fhir', settings({}, { caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.otherClientKeyFile }), { url: base })).toThrow(/outbound\.fhir\.tls\.certFile\/keyFile/);
    expect(() => createOutboundTarget('fhir', settings({}, { caFile: tls.caFile }), { url: 'http://plain.example' })).toThrow(/outbound\.fhir\.tls: set, but the fhir URL is not https/);
  });
});
