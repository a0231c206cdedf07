import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, toAppError, type ErrorCode } from '../domain/errors';
import { stripUrlCredentials } from '../domain/redact-url';
import type { Logger } from '../logging';
import { isFhirPath } from './auth/refuse';

/**
 * Fixed answers for the errors body-parser (express.json, raw, text) raises, by its `type`. Their own messages can
 * quote request input (a Content-Encoding or charset header value, a JSON fragment), so none of them is sent.
 */
const HTTP_ERROR_ANSWERS: Record<string, [ErrorCode, string, number?]> = {
  'entity.parse.failed': ['BAD_REQUEST', 'request body is not valid JSON'],
  'entity.too.large': ['TOO_LARGE', 'request body too large'],
  'parameters.too.many': ['TOO_LARGE', 'too many parameters in the request body'],
  'encoding.unsupported': ['BAD_REQUEST', 'this Content-Encoding is not supported: send the body uncompressed', 415],
  'charset.unsupported': ['BAD_REQUEST', 'this request charset is not supported: use utf-8', 415],
  'request.aborted': ['BAD_REQUEST', 'the request was aborted before its body was complete'],
  'request.size.invalid': ['BAD_REQUEST', 'the request body does not have the length its Content-Length says'],
};

const CODE_OF_STATUS: Record<number, ErrorCode> = { 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 409: 'CONFLICT', 413: 'TOO_LARGE', 429: 'RATE_LIMITED' };

/** Body-parser and similar (http-errors) 4xx errors: our code and a fixed message, never the library's text. */
function fromHttpError(err: unknown): AppError | undefined {
  const e = err as { status?: number; type?: string };
  if (typeof e?.status !== 'number' || e.status < 400 || e.status >= 500) return undefined;
  const known = typeof e.type === 'string' ? HTTP_ERROR_ANSWERS[e.type] : undefined;
  if (known) return new AppError(known[0], known[1], { httpStatus: known[2] ?? e.status });
  // Anything else (a path that does not URL-decode, …): the status text only; its message may quote the input.
  return new AppError(CODE_OF_STATUS[e.status] ?? 'BAD_REQUEST', (STATUS_CODES[e.status] ?? 'bad request').toLowerCase(), { httpStatus: e.status });
}

/**
 * What clients are told of a server-side failure: its code and this, with a correlation id to find the log line.
 * The error's own message stays in the log: it can name hosts, URLs, files, UIDs or a library's internals.
 */
const SERVER_SIDE_ANSWERS: Partial<Record<ErrorCode, string>> = {
  PACS_UNAVAILABLE: 'the PACS cannot be reached; try again later',
  PACS_REJECTED: 'the PACS refused the request',
  FHIR_UNAVAILABLE: 'the FHIR server cannot be reached; try again later',
  FHIR_REJECTED: 'the FHIR server refused the request',
  AUTH_UNAVAILABLE: 'the identity provider cannot be reached, so the credentials cannot be checked; try again later',
};

/**
 * 5xx answers about the service's own state, whose messages our code writes for the sender (free space figures, a
 * retry hint) and which come in bursts (every push under storage pressure): sent as they are, not logged here.
 */
const ROUTINE_UNAVAILABLE = new Set<ErrorCode>(['STORAGE_FULL', 'OVERLOADED', 'STUDY_CHANGING']);

/** Longest client-facing message: our 4xx messages are short; a longer one is cut rather than echoed in full. */
const MAX_MESSAGE = 300;

/** Paths carry study UIDs (/dicomweb/studies/{uid}): logged with the UIDs masked. */
const maskedPath = (path: string): string => path.replace(/[0-9]+(?:\.[0-9]+){2,}/g, '{uid}');

/**
 * The one funnel from any thrown error to an HTTP answer. Client errors (4xx) carry the message our code wrote for
 * the client (URL credentials stripped, length capped), as do the routine 503s above. Other server-side errors
 * (5xx) carry only a fixed text per code and a correlation id (also in the X-Correlation-Id header) that names the one log line with the real message;
 * no stack trace, file path or library message ever reaches a body. Under /fhir the answer is an OperationOutcome.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = fromHttpError(err) ?? toAppError(err);
    const serverSide = e.httpStatus >= 500 && !ROUTINE_UNAVAILABLE.has(e.code);
    const correlationId = serverSide ? randomUUID() : undefined;
    if (serverSide) {
      const fields = { correlationId, code: e.code, method: req.method, path: maskedPath(req.originalUrl.split('?')[0] ?? ''), err: stripUrlCredentials(e.message) };
      if (e.code === 'INTERNAL') logger.error(fields, 'unhandled error in request');
      else logger.warn(fields, 'request failed');
    }
    // Too late for an answer: cut the connection so the client sees a truncated response, not a hang.
    if (res.headersSent) return void res.destroy();
    const message = serverSide ? (SERVER_SIDE_ANSWERS[e.code] ?? 'internal error') : stripUrlCredentials(e.message).slice(0, MAX_MESSAGE);
    if (correlationId) res.set('X-Correlation-Id', correlationId);
    if (isFhirPath(req)) {
      const issue = { severity: 'error', code: serverSide ? 'exception' : 'processing', details: { text: message }, ...(correlationId ? { diagnostics: `correlation id ${correlationId}` } : {}) };
      return void res.status(e.httpStatus).type('application/fhir+json').json({ resourceType: 'OperationOutcome', issue: [issue] });
    }
    res.status(e.httpStatus).json({ error: { code: e.code, message, retryable: e.retryable, ...(correlationId ? { correlationId } : {}) } });
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new AppError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
};
