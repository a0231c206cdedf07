import type { NextFunction, Request, Response } from 'express';
import { AppError, type ErrorCode } from '../../domain/errors';

const FHIR_ISSUE: Record<number, string> = { 401: 'login', 403: 'forbidden', 429: 'throttled', 503: 'transient' };

/** Whether the request is for the embedded FHIR store, which answers in FHIR (OperationOutcome). */
export const isFhirPath = (req: Request): boolean => {
  // originalUrl: inside a mounted router req.path is relative to the mount.
  const pathname = req.originalUrl.split('?')[0] ?? '';
  return pathname === '/fhir' || pathname.startsWith('/fhir/');
};

/**
 * Refuses a request: a FHIR OperationOutcome under /fhir, else the API's JSON error (src/http/error-handler.ts).
 * 401 carries the Bearer challenge (RFC 6750 §3), with error="invalid_token" when a credential was presented.
 */
export function refuse(req: Request, res: Response, next: NextFunction, code: ErrorCode, message: string, challenge?: 'missing' | 'invalid_token'): void {
  const err = new AppError(code, message);
  if (challenge === 'missing') res.set('WWW-Authenticate', 'Bearer realm="clinical-ai"');
  if (challenge === 'invalid_token') res.set('WWW-Authenticate', `Bearer realm="clinical-ai", error="invalid_token", error_description="${message.replace(/["\\]/g, "'")}"`);
  if (!isFhirPath(req)) return next(err);
  res
    .status(err.httpStatus)
    .type('application/fhir+json')
    .json({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: FHIR_ISSUE[err.httpStatus] ?? 'security', details: { text: message } }] });
}
