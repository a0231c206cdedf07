/**
 * A throw-away PKI made with the real openssl CLI for TLS tests: a CA, a server certificate for 127.0.0.1 and
 * localhost, client certificates it issues (one already expired), and a second, foreign CA with its own client.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertFiles {
  cert: string;
  key: string;
  /** Subject DN as given to openssl (-subj). */
  subject: string;
}

export interface TestPki {
  dir: string;
  caCert: string;
  server: CertFiles;
  /** Issues a client certificate of the test CA (or of the foreign CA) with this subject. */
  client(name: string, subject: string, options?: { foreign?: boolean; expired?: boolean }): Promise<CertFiles>;
  /** SHA-256 fingerprint as openssl prints it (AA:BB:…). */
  fingerprint(certFile: string): Promise<string>;
  foreignCaCert: string;
}

async function openssl(args: string[], cwd: string): Promise<string> {
  const r = await run('openssl', args, { cwd, timeout: 30_000 });
  return r.stdout;
}

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.pem`);
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/O=clinical-ai tests/CN=${name}`], dir);
  return { cert, key };
}

/** openssl ca can back-date a certificate (openssl x509 -req cannot): the expired client. */
function caConfig(dir: string): string {
  const file = path.join(dir, 'ca.cnf');
  writeFileSync(path.join(dir, 'index.txt'), '');
  writeFileSync(path.join(dir, 'serial'), '1000\n');
  writeFileSync(
    file,
    ['[ca]', 'default_ca = test', '[test]', `dir = ${dir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir', 'serial = $dir/serial', 'default_md = sha256', 'policy = any', 'unique_subject = no', 'copy_extensions = none', '[any]', 'commonName = supplied', 'organizationName = optional', 'countryName = optional'].join('\n'),
  );
  return file;
}

export async function createTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pki-'));
  const ca = await makeCa(dir, 'test-ca');
  const foreign = await makeCa(dir, 'foreign-ca');
  const cnf = caConfig(dir);

  const issue = async (name: string, subject: string, by: { cert: string; key: string }, extensions: string, expired = false): Promise<CertFiles> => {
    const key = path.join(dir, `${name}.key`);
    const csr = path.join(dir, `${name}.csr`);
    const cert = path.join(dir, `${name}.pem`);
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', subject], dir);
    const ext = path.join(dir, `${name}.ext`);
    writeFileSync(ext, extensions);
    if (expired) {
      await openssl(['ca', '-batch', '-config', cnf, '-cert', by.cert, '-keyfile', by.key, '-in', csr, '-out', cert, '-notext', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extfile', ext], dir);
    } else {
      await openssl(['x509', '-req', '-in', csr, '-CA', by.cert, '-CAkey', by.key, '-CAcreateserial', '-out', cert, '-days', '1', '-extfile', ext], dir);
    }
    return { cert, key, subject };
  };

  const server = await issue('server', '/O=clinical-ai tests/CN=localhost', ca, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  return {
    dir,
    caCert: ca.cert,
    foreignCaCert: foreign.cert,
    server,
    client: (name, subject, options = {}) => issue(name, subject, options.foreign ? foreign : ca, 'extendedKeyUsage=clientAuth\n', options.expired),
    fingerprint: async (certFile) => (await openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', certFile], dir)).trim().replace(/^.*=/, ''),
  };
}

/** The PEM contents, for https.request options. */
export const pem = (file: string): Buffer => readFileSync(file);
