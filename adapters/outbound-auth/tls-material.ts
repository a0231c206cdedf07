import { readFileSync } from 'node:fs';
import https from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { AppError } from '../../src/domain/errors';

export interface TlsFiles {
  /** PEM bundle of CAs to trust in addition to Node's built-in roots (the hospital's internal CA). */
  caFile?: string;
  /** PEM client certificate (chain) for mTLS. */
  certFile?: string;
  /** PEM private key of certFile. */
  keyFile?: string;
}

/** What was read from TlsFiles, ready for node:https and undici. */
export interface TlsMaterial {
  ca?: string[];
  cert?: Buffer;
  key?: Buffer;
}

function read(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `${key}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * Reads and checks the TLS files of one target (`configKey` e.g. "outbound.pacs.tls" names them in errors); undefined
 * when none is set. The CA bundle is added to Node's roots, not put in their place, so public CAs keep working.
 * Certificate verification itself can never be turned off.
 */
export function loadTlsMaterial(files: TlsFiles | undefined, configKey: string): TlsMaterial | undefined {
  if (!files || (!files.caFile && !files.certFile && !files.keyFile)) return undefined;
  if (Boolean(files.certFile) !== Boolean(files.keyFile)) {
    throw new AppError('CONFIG_INVALID', `${configKey}.${files.certFile ? 'keyFile' : 'certFile'}: required together with ${configKey}.${files.certFile ? 'certFile' : 'keyFile'} (mTLS needs both)`);
  }
  const material: TlsMaterial = {};
  if (files.caFile) {
    const pem = read(files.caFile, `${configKey}.caFile`).toString('utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new AppError('CONFIG_INVALID', `${configKey}.caFile: no PEM certificate in the file`);
    material.ca = [...rootCertificates, pem];
  }
  if (files.certFile && files.keyFile) {
    material.cert = read(files.certFile, `${configKey}.certFile`);
    material.key = read(files.keyFile, `${configKey}.keyFile`);
  }
  try {
    // Parses everything now, so a wrong file or a key that does not match the certificate fails at start.
    createSecureContext({ ...material });
  } catch (err) {
    const what = material.cert ? `${configKey}.certFile/keyFile` : `${configKey}.caFile`;
    throw new AppError('CONFIG_INVALID', `${what}: ${(err as Error).message}`);
  }
  return material;
}

/** An undici dispatcher for Node's fetch with this TLS material (undefined material: Node's defaults). */
export function tlsDispatcher(material: TlsMaterial | undefined): Dispatcher | undefined {
  if (!material) return undefined;
  return new Agent({ connect: { ...material, rejectUnauthorized: true } });
}

/** The same for node:https users (xhr2 under dicomweb-client). */
export function tlsHttpsAgent(material: TlsMaterial | undefined): https.Agent | undefined {
  if (!material) return undefined;
  return new https.Agent({ ...material, rejectUnauthorized: true, keepAlive: true });
}
