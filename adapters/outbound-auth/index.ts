import { AppError } from '../../src/domain/errors';
import type { Dependency } from '../../src/domain/job';
import { stripUrlCredentials, urlCredentials } from '../../src/domain/redact-url';
import { silentLogger, type Logger } from '../../src/logging';
import type { OutboundTargetConfig } from '../../src/outbound-config';
import type { OutboundCredentials } from '../../src/ports/outbound-auth';
import { loadAssertionKey } from './assertion-key';
import { OutboundTarget } from './outbound-target';
import { Secret } from './secret';
import { basicCredentials, bearerCredentials, noCredentials } from './static-credentials';
import { loadTlsMaterial } from './tls-material';
import { TokenCredentials, type PlainFetch } from './token-credentials';

export { OutboundTarget } from './outbound-target';
export { TokenCredentials } from './token-credentials';
export { loadTlsMaterial, type TlsFiles, type TlsMaterial } from './tls-material';

/** What buildPacs / the FHIR sink need of the legacy keys and the URL. */
export interface LegacyOutbound {
  /** The configured base URL; user:password@ in it is taken as Basic credentials and removed. */
  url: string;
  basic?: { username: string; password: string };
  bearerToken?: string;
}

/**
 * Builds the one outbound target of a dependency from outbound.<dependency> (and the legacy keys it replaces):
 * credentials, TLS files read and checked now (errors name the key), the base URL without credentials.
 */
export function createOutboundTarget(
  dependency: Dependency,
  settings: OutboundTargetConfig | undefined,
  legacy: LegacyOutbound,
  logger: Logger = silentLogger,
): { target: OutboundTarget; url: string } {
  const configKey = `outbound.${dependency}`;
  const url = stripUrlCredentials(legacy.url);
  const inUrl = url !== legacy.url ? urlCredentials(legacy.url) : undefined;
  let credentials: OutboundCredentials;
  const type = settings?.auth.type ?? 'none';
  // The token endpoint is reached with the target's TLS (one dispatcher): in a hospital one CA usually signs both.
  const built: { target?: OutboundTarget } = {};
  const plainFetch = (u: string, init: RequestInit): Promise<Response> => (built.target as OutboundTarget).plainFetch(u, init);
  if (type !== 'none' && settings) {
    credentials = credentialsFrom(dependency, settings, plainFetch, logger);
  } else if (legacy.basic?.username) {
    credentials = basicCredentials(legacy.basic.username, Secret.fixed(legacy.basic.password));
  } else if (legacy.bearerToken) {
    credentials = bearerCredentials(Secret.fixed(legacy.bearerToken));
  } else if (inUrl) {
    // Credentials in the URL worked with xhr2 once; keep them working, but only as headers, never in the URL.
    logger.warn(`the ${dependency} URL carries credentials (user:password@); they are used as Basic auth. Prefer ${configKey}.auth with a password from the environment or a file`);
    credentials = basicCredentials(inUrl.username, Secret.fixed(inUrl.password));
  } else {
    credentials = noCredentials();
  }
  const tls = loadTlsMaterial(settings?.tls, `${configKey}.tls`);
  if (tls && !/^https:/i.test(url.replace(/^(orthanc|dicomweb):/, ''))) {
    throw new AppError('CONFIG_INVALID', `${configKey}.tls: set, but the ${dependency} URL is not https://`);
  }
  logger.info({ dependency, auth: credentials.kind, caFile: Boolean(settings?.tls.caFile), clientCertificate: Boolean(settings?.tls.certFile) }, 'outbound target configured');
  const target = new OutboundTarget({ dependency, credentials, ...(tls ? { tls } : {}), logger });
  built.target = target;
  return { target, url };
}

function credentialsFrom(dependency: Dependency, settings: OutboundTargetConfig, plainFetch: PlainFetch, logger: Logger): OutboundCredentials {
  const key = `outbound.${dependency}.auth`;
  const auth = settings.auth;
  const secret = (field: 'password' | 'token' | 'clientSecret'): Secret => {
    const s = Secret.from({ value: auth[field], file: auth[`${field}File`], key: `${key}.${field}`, fileKey: `${key}.${field}File` });
    if (!s) throw new AppError('CONFIG_INVALID', `${key}.${field}File: required for auth type '${auth.type}' (or the environment variable of ${key}.${field})`);
    return s;
  };
  switch (auth.type) {
    case 'basic':
      return basicCredentials(auth.username, secret('password'));
    case 'bearer':
      return bearerCredentials(secret('token'));
    case 'client-credentials':
    case 'private-key-jwt': {
      const common = {
        dependency,
        configKey: key,
        clientId: auth.clientId,
        ...(auth.tokenUrl ? { tokenUrl: auth.tokenUrl } : {}),
        ...(auth.issuer ? { issuer: auth.issuer } : {}),
        ...(auth.scope ? { scope: auth.scope } : {}),
        ...(auth.resource ? { resource: auth.resource } : {}),
        timeoutMs: auth.timeoutMs,
        fetch: plainFetch,
        logger,
      };
      if (auth.type === 'client-credentials') return new TokenCredentials({ ...common, method: auth.tokenEndpointAuthMethod, clientSecret: secret('clientSecret') });
      const assertionKey = loadAssertionKey(auth.privateKeyFile, { ...(auth.keyId ? { keyId: auth.keyId } : {}), algorithm: auth.algorithm, configKey: key });
      return new TokenCredentials({ ...common, method: 'private_key_jwt', assertionKey });
    }
    default:
      return noCredentials();
  }
}
