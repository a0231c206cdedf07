import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Files made by openssl for TLS tests: a CA, a server certificate for 127.0.0.1/localhost and a client certificate. */
export interface TlsFixtures {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A second CA with its own client certificate: a client the server must not trust. */
  otherClientCertFile: string;
  otherClientKeyFile: string;
  read(file: string): Buffer;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function ca(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name} test CA`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
}

function leaf(dir: string, name: string, caName: string, ext: string): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
}

/** Generates everything in a temp dir (a second or two of openssl). */
export function makeTlsFixtures(): TlsFixtures {
  const dir = mkdtempSync(path.join(tmpdir(), 'tls-'));
  ca(dir, 'hospital-ca');
  ca(dir, 'other-ca');
  leaf(dir, 'server', 'hospital-ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf(dir, 'client', 'hospital-ca', 'extendedKeyUsage=clientAuth\n');
  leaf(dir, 'other-client', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  const f = (n: string): string => path.join(dir, n);
  return {
    dir,
    caFile: f('hospital-ca.crt'),
    serverCertFile: f('server.crt'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.crt'),
    clientKeyFile: f('client.key'),
    otherClientCertFile: f('other-client.crt'),
    otherClientKeyFile: f('other-client.key'),
    read: (file) => readFileSync(file),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
