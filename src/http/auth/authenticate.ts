import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { AppError, toAppError } from '../../domain/errors';
import type { Principal, Role } from '../../domain/principal';
import type { Logger } from '../../logging';
import { refuse } from './refuse';
import { clientAddress, presentsCredentials, type Authenticator } from './types';

export interface HttpAuth {
  /** Tried in order; the first that recognises the credential decides. */
  authenticators: Authenticator[];
  /** Roles of requests without credentials; undefined: such requests carry no principal (protected routes: 401). */
  anonymousRoles?: readonly Role[];
  /** Failed authentication attempts (401) allowed per client address per minute before 429. */
  failedAttemptsPerMinute: number;
}

/** Anonymous access on loopback without configured authentication: what the demo and tests use. */
export const LOOPBACK_ANONYMOUS: HttpAuth = { authenticators: [], anonymousRoles: ['viewer', 'sender', 'operator'], failedAttemptsPerMinute: 30 };

/**
 * Authentication for every route after it: sets res.locals.principal (read by authorization and the audit
 * middleware) or leaves it undefined. A presented credential that is not valid is refused with 401 at once, never
 * downgraded to anonymous. Refused credentials are counted per client address (express-rate-limit, one-minute
 * window); past the limit the client gets 429 with Retry-After for the rest of the window, whatever it sends.
 */
export function authenticate(auth: HttpAuth, logger: Logger): RequestHandler[] {
  const limit = auth.failedAttemptsPerMinute;
  const tooMany = (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1], next: Parameters<RequestHandler>[2]): void => {
    logger.warn({ client: clientAddress(req) }, 'too many failed authentication attempts: client refused for now');
    refuse(req, res, next, 'RATE_LIMITED', 'too many failed authentication attempts from this address; try again after Retry-After seconds');
  };
  // Counts failures only: it runs on the way to a 401, never for accepted requests.
  const failures = rateLimit({ windowMs: 60_000, limit, keyGenerator: (req) => clientAddress(req), standardHeaders: 'draft-7', legacyHeaders: false, validate: false, handler: tooMany });
  // A client over the limit is refused before its credentials are looked at, so a right guess is not told apart.
  const lockout: RequestHandler = async (req, res, next) => {
    const info = await failures.getKey(clientAddress(req));
    if (!info || info.totalHits < limit) return next();
    res.set('Retry-After', String(Math.max(1, Math.ceil(((info.resetTime?.getTime() ?? Date.now() + 60_000) - Date.now()) / 1000))));
    tooMany(req, res, next);
  };
  const fail: typeof refuse = (req, res, next, code, message, challenge) => {
    void failures(req, res, () => refuse(req, res, next, code, message, challenge));
  };
  const identify: RequestHandler = async (req, res, next) => {
    try {
      for (const authenticator of auth.authenticators) {
        const outcome = await authenticator(req);
        if (!outcome) continue;
        if ('refused' in outcome) {
          logger.info({ client: clientAddress(req), reason: outcome.refused }, 'authentication refused');
          return fail(req, res, next, 'UNAUTHORIZED', outcome.refused, 'invalid_token');
        }
        res.locals.principal = outcome.principal;
        return next();
      }
      if (presentsCredentials(req)) {
        logger.info({ client: clientAddress(req) }, 'authentication refused: credentials of no configured kind');
        return fail(req, res, next, 'UNAUTHORIZED', 'the credentials are of no kind this service accepts (OIDC bearer token or API key)', 'invalid_token');
      }
      if (auth.anonymousRoles) {
        const principal: Principal = { kind: 'anonymous', subject: 'anonymous', roles: auth.anonymousRoles, clientAddress: clientAddress(req) };
        res.locals.principal = principal;
      }
      next();
    } catch (err) {
      const e = toAppError(err);
      if (e.code === 'AUTH_UNAVAILABLE') return refuse(req, res, next, e.code, e.message);
      next(err);
    }
  };
  // No CORS here: Express would answer OPTIONS itself with the path's methods, to anyone, past every role check.
  const noOptions: RequestHandler = (req, _res, next) => (req.method === 'OPTIONS' ? next(new AppError('NOT_FOUND', `no route for OPTIONS ${req.path}`)) : next());
  return [noOptions, lockout, identify];
}
