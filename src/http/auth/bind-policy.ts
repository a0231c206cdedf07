import { isIP } from 'node:net';
import { AppError } from '../../domain/errors';
import type { Role } from '../../domain/principal';
import type { Logger } from '../../logging';

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice(7));
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Secure default of `serve`: without authentication the HTTP server may listen on loopback only. Another address
 * without authentication needs http.allowAnonymous: true, said out loud (a warning at every start).
 */
export function checkBindPolicy(opts: { host: string; port: number; allowAnonymous: boolean; authConfigured: boolean; anonymousRoles: readonly Role[] }, logger: Logger): void {
  const loopback = isLoopbackHost(opts.host);
  if (!opts.authConfigured && !loopback && !opts.allowAnonymous) {
    throw new AppError(
      'CONFIG_INVALID',
      `http.host is ${opts.host}, which other machines can reach, and no authentication is configured: set auth.oidc or auth.apiKeys (docs/http-api.md#access-control), bind to 127.0.0.1, or set http.allowAnonymous: true (CLINICAL_AI_HTTP_ALLOW_ANONYMOUS) to serve anonymous clients on purpose`,
    );
  }
  if (opts.allowAnonymous) {
    logger.warn(
      { host: opts.host, port: opts.port, anonymousRoles: opts.anonymousRoles },
      `http.allowAnonymous is true: requests without credentials are served with roles ${opts.anonymousRoles.join(', ') || '(none)'} to every client that can reach ${opts.host}`,
    );
  } else if (!opts.authConfigured) {
    logger.info({ host: opts.host }, 'no authentication configured: listening on loopback only, requests without credentials are anonymous');
  }
}
