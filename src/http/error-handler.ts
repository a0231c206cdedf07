import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, toAppError } from '../domain/errors';
import type { Logger } from '../logging';

/** Body-parser and similar errors carry a status; map them to our codes so clients get a clear answer. */
function fromHttpError(err: unknown): AppError | undefined {
  const e = err as { status?: number; type?: string; message?: string };
  if (typeof e?.status !== 'number' || e.status < 400 || e.status >= 500) return undefined;
  if (e.status === 413) return new AppError('TOO_LARGE', 'request body too large');
  return new AppError('BAD_REQUEST', e.type === 'entity.parse.failed' ? 'request body is not valid JSON' : (e.message ?? 'bad request'), { httpStatus: e.status });
}

/** The one funnel from any thrown error to an HTTP answer; unknown errors are logged once, never leaked. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = fromHttpError(err) ?? toAppError(err);
    if (e.code === 'INTERNAL') logger.error({ path: req.path, err: e.message }, 'unhandled error in request');
    const message = e.code === 'INTERNAL' ? 'internal error' : e.message;
    if (res.headersSent) return;
    res.status(e.httpStatus).json({ error: { code: e.code, message, retryable: e.retryable } });
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new AppError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
};
