import type { RequestHandler } from 'express';
import { hasRole, type Principal, type Role } from '../../domain/principal';
import { refuse } from './refuse';

/** The caller as authentication left it (src/http/auth/authenticate.ts). */
export const principalOf = (res: { locals: Record<string, unknown> }): Principal | undefined => res.locals.principal as Principal | undefined;

/** 401 without a principal, 403 without the role (admin holds every role), else on to the route. */
export function requireRole(role: Role): RequestHandler {
  return (req, res, next) => {
    const principal = principalOf(res);
    if (!principal) return refuse(req, res, next, 'UNAUTHORIZED', `authentication required (role ${role}): send Authorization: Bearer <token or API key>`, 'missing');
    if (!hasRole(principal, role)) return refuse(req, res, next, 'FORBIDDEN', `${principal.kind} "${principal.subject}" does not hold the ${role} role this route needs`);
    next();
  };
}

/**
 * The embedded FHIR store: reads and searches need viewer; every write, update, delete, transaction or operation
 * needs admin (the service's own credential holds it), so no anonymous or viewer client can change results.
 */
export function fhirAccess(): RequestHandler {
  const viewer = requireRole('viewer');
  const admin = requireRole('admin');
  return (req, res, next) => {
    const read = req.method === 'GET' || req.method === 'HEAD' || (req.method === 'POST' && /\/_search\/?$/.test(req.path));
    return (read ? viewer : admin)(req, res, next);
  };
}
