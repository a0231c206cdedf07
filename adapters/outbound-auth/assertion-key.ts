import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AppError } from '../../src/domain/errors';
import type { ClientAssertionKey } from './token-credentials';

/**
 * Loads the private key of a private_key_jwt client from a PEM file (PKCS#8, PKCS#1 or SEC1) or a JWK (JSON) file,
 * and checks it fits the algorithm: RS384 needs RSA (2048 bits or more), ES384 needs EC P-384. The kid is keyId, or
 * the JWK's own kid; SMART requires one, because the server picks the public key from the client's JWKS by it.
 */
export function loadAssertionKey(file: string, options: { keyId?: string; algorithm: 'RS384' | 'ES384'; configKey: string }): ClientAssertionKey {
  const where = `${options.configKey}.privateKeyFile`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `${where}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let key: KeyObject;
  let jwkKid: string | undefined;
  try {
    if (text.trimStart().startsWith('{')) {
      const jwk = JSON.parse(text) as JsonWebKey & { kid?: string };
      jwkKid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
      key = createPrivateKey({ key: jwk, format: 'jwk' });
    } else {
      key = createPrivateKey(text);
    }
  } catch {
    // The parser's message could quote the file; say only what kind of problem it is.
    throw new AppError('CONFIG_INVALID', `${where}: not a private key (PEM or JWK expected)`);
  }
  if (key.type !== 'private') throw new AppError('CONFIG_INVALID', `${where}: the file holds a ${key.type} key, a private key is needed`);
  const details = key.asymmetricKeyDetails;
  if (options.algorithm === 'RS384' && (key.asymmetricKeyType !== 'rsa' || (details?.modulusLength ?? 0) < 2048)) {
    throw new AppError('CONFIG_INVALID', `${where}: RS384 needs an RSA key of at least 2048 bits (got ${key.asymmetricKeyType ?? 'unknown'}); or set ${options.configKey}.algorithm`);
  }
  if (options.algorithm === 'ES384' && (key.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'secp384r1')) {
    throw new AppError('CONFIG_INVALID', `${where}: ES384 needs an EC P-384 key (got ${key.asymmetricKeyType ?? 'unknown'} ${details?.namedCurve ?? ''}); or set ${options.configKey}.algorithm`);
  }
  const kid = options.keyId || jwkKid;
  if (!kid) throw new AppError('CONFIG_INVALID', `${options.configKey}.keyId: required (the kid of this key in the JWKS registered for the client)`);
  return { key, kid, alg: options.algorithm };
}
