import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { DicomWebAdapter } from '../../adapters/dicomweb/dicomweb-adapter';
import { FhirClientSink } from '../../adapters/fhir/fhir-client-sink';
import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import { createOutboundTarget } from '../../adapters/outbound-auth';
import { OrthancRest } from '../../adapters/orthanc/orthanc-rest';
import { loadConfig, redactConfig, type Config } from '../../src/config';
import { AppError, toAppError } from '../../src/domain/errors';
import { createApp } from '../../src/http/app';
import { silentLogger } from '../../src/logging';

// Secrets hygiene (issue #11): every secret the configuration can hold, set at once, must appear in none of the
// redacted config, the error messages of calls that fail, or a /readyz body.

const S = {
  pacsPassword: 'legacy-pacs-pw-3f9a1c7e',
  fhirToken: 'legacy-fhir-token-8b2d4e6f',
  urlPassword: 'url-pw-5c7e9a1b',
  outboundPacsPassword: 'out-pacs-pw-2a4c6e8f',
  outboundFhirSecret: 'out-fhir-secret-1b3d5f7a',
  outboundPacsToken: 'out-pacs-token-9e8d7c6b',
  outboundFhirToken: 'out-fhir-token-4f3e2d1c',
};
const ALL = Object.values(S);

let dir: string;
let closedPort: number;

function expectNoSecret(text: string): void {
  for (const secret of ALL) expect(text).not.toContain(secret);
}

async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    return toAppError(err);
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'outbound-secrets-'));
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  closedPort = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Configurations that together set every secret key (some exclude each other). */
function configs(): Config[] {
  const base = { CLINICAL_AI_DATA_DIR: dir };
  return [
    loadConfig({ env: { ...base, CLINICAL_AI_PACS: `dicomweb:http://svc:${S.urlPassword}@127.0.0.1:${closedPort}/dicom-web`, CLINICAL_AI_FHIR: `http://127.0.0.1:${closedPort}/fhir`, CLINICAL_AI_FHIR_TOKEN: S.fhirToken } }),
    loadConfig({ env: { ...base, CLINICAL_AI_PACS: `orthanc:http://127.0.0.1:${closedPort}`, CLINICAL_AI_PACS_USERNAME: 'svc', CLINICAL_AI_PACS_PASSWORD: S.pacsPassword } }),
    loadConfig({
      env: {
        ...base,
        CLINICAL_AI_PACS: `orthanc:http://127.0.0.1:${closedPort}`,
        CLINICAL_AI_FHIR: `http://127.0.0.1:${closedPort}/fhir`,
        CLINICAL_AI_OUTBOUND_PACS_AUTH_TYPE: 'basic',
        CLINICAL_AI_OUTBOUND_PACS_AUTH_USERNAME: 'svc',
        CLINICAL_AI_OUTBOUND_PACS_AUTH_PASSWORD: S.outboundPacsPassword,
        CLINICAL_AI_OUTBOUND_FHIR_AUTH_TYPE: 'client-credentials',
        CLINICAL_AI_OUTBOUND_FHIR_AUTH_CLIENT_ID: 'clinical-ai',
        CLINICAL_AI_OUTBOUND_FHIR_AUTH_TOKEN_URL: `http://127.0.0.1:${closedPort}/token`,
        CLINICAL_AI_OUTBOUND_FHIR_AUTH_CLIENT_SECRET: S.outboundFhirSecret,
      },
    }),
    loadConfig({
      env: {
        ...base,
        CLINICAL_AI_PACS: `dicomweb:http://127.0.0.1:${closedPort}`,
        CLINICAL_AI_FHIR: `http://127.0.0.1:${closedPort}/fhir`,
        CLINICAL_AI_OUTBOUND_PACS_AUTH_TYPE: 'bearer',
        CLINICAL_AI_OUTBOUND_PACS_AUTH_TOKEN: S.outboundPacsToken,
        CLINICAL_AI_OUTBOUND_FHIR_AUTH_TYPE: 'bearer',
        CLINICAL_AI_OUTBOUND_FHIR_AUTH_TOKEN: S.outboundFhirToken,
      },
    }),
  ];
}

describe('secrets never leave the process', () => {
  it('when every secret key is set, then the loaded config holds them all and the redacted config none', () => {
    const loaded = configs();
    const raw = JSON.stringify(loaded);
    // The check below could not fail if the secrets never arrived: they must be in the unredacted config.
    for (const secret of ALL) expect(raw).toContain(secret);
    for (const config of loaded) expectNoSecret(JSON.stringify(redactConfig(config)));
    const redacted = redactConfig(loaded[2] as Config);
    expect(redacted.outbound.fhir.auth.clientSecret).toBe('***');
    expect(redacted.outbound.pacs.auth.password).toBe('***');
    expect(redactConfig(loaded[0] as Config).pacs).toBe(`dicomweb:http://127.0.0.1:${closedPort}/dicom-web`);
  });

  it('when calls with each configuration fail, then no error message, job-record error or /readyz body carries a secret', async () => {
    for (const config of configs()) {
      const pacs = createOutboundTarget('pacs', config.outbound.pacs, { url: config.pacs, ...(config.pacsUsername ? { basic: { username: config.pacsUsername, password: config.pacsPassword } } : {}) });
      const fhir = createOutboundTarget('fhir', config.outbound.fhir, { url: config.fhir, ...(config.fhirToken ? { bearerToken: config.fhirToken } : {}) });
      expectNoSecret(pacs.url);
      const base = pacs.url.replace(/^(orthanc|dicomweb):/, '');
      const dicomweb = new DicomWebAdapter({ url: base, target: pacs.target });
      const rest = new OrthancRest({ baseUrl: base, target: pacs.target });
      const sink = new FhirClientSink({ baseUrl: fhir.url, target: fhir.target });
      const errors = [await failure(dicomweb.ping()), await failure(dicomweb.getStudy('1.2.3')), await failure(rest.getJson('/system')), await failure(sink.ping()), await failure(sink.writeTransaction('k', { resourceType: 'Bundle', type: 'transaction', entry: [] }))];
      for (const e of errors) {
        // What a job record keeps: code, message, retryable (src/pipeline/job-runner.ts).
        expectNoSecret(JSON.stringify({ code: e.code, message: e.message, retryable: e.retryable, details: e.details }));
        expect(e.code).toMatch(/_UNAVAILABLE$/);
      }
      const app = createApp({
        jobs: new MemoryJobStore(),
        fhir: null,
        logger: silentLogger,
        readiness: [
          { name: 'pacs', check: () => dicomweb.ping() },
          { name: 'fhir', check: () => sink.ping() },
        ],
      });
      const readyz = await request(app).get('/readyz');
      expect(readyz.status).toBe(503);
      expect(readyz.text).toMatch(/not reachable|unreachable/);
      expectNoSecret(readyz.text);
      expect(readyz.text).not.toContain('svc:');
      await Promise.all([pacs.target.close(), fhir.target.close()]);
    }
  });

  it('when a secret is written in the config file, then start-up refuses it naming the key and the environment variable, without echoing it', () => {
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ outbound: { fhir: { auth: { type: 'client-credentials', clientId: 'c', tokenUrl: 'https://idp/token', clientSecret: S.outboundFhirSecret } } } }));
    let message = '';
    try {
      loadConfig({ file, env: {} });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('outbound.fhir.auth.clientSecret: a secret may not be written in the config file; set CLINICAL_AI_OUTBOUND_FHIR_AUTH_CLIENT_SECRET or outbound.fhir.auth.clientSecretFile');
    expectNoSecret(message);
  });

  it('when an auth type lacks what it needs or is set with the legacy keys, then each problem names its key', () => {
    let message = '';
    try {
      loadConfig({
        env: {
          CLINICAL_AI_PACS_USERNAME: 'u',
          CLINICAL_AI_PACS_PASSWORD: S.pacsPassword,
          CLINICAL_AI_OUTBOUND_PACS_AUTH_TYPE: 'private-key-jwt',
          CLINICAL_AI_OUTBOUND_FHIR_AUTH_TYPE: 'client-credentials',
          CLINICAL_AI_OUTBOUND_FHIR_TLS_CERT_FILE: '/run/secrets/fhir/tls.crt',
        },
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("outbound.pacs.auth.clientId: required for auth type 'private-key-jwt'");
    expect(message).toContain("outbound.pacs.auth.privateKeyFile: required for auth type 'private-key-jwt'");
    expect(message).toContain('pacsUsername: set together with outbound.pacs.auth');
    expect(message).toContain("outbound.fhir.auth.tokenUrl: required for auth type 'client-credentials' (where tokens come from); or set outbound.fhir.auth.issuer");
    expect(message).toContain("outbound.fhir.auth.clientSecretFile: required for auth type 'client-credentials'");
    expect(message).toContain('outbound.fhir.tls.keyFile: required together with outbound.fhir.tls.certFile');
    expectNoSecret(message);
  });

  it('when the PACS URL carries user:password, then it is used as Basic auth and removed from the URL', async () => {
    const { target, url } = createOutboundTarget('pacs', undefined, { url: `orthanc:http://svc:${S.urlPassword}@127.0.0.1:${closedPort}` });
    expect(url).toBe(`orthanc:http://127.0.0.1:${closedPort}`);
    expect(target.credentials.kind).toBe('basic');
    expect(await target.credentials.headers()).toEqual({ authorization: `Basic ${Buffer.from(`svc:${S.urlPassword}`).toString('base64')}` });
  });
});
