import { AppError } from '../../src/domain/errors';
import { describeNetworkError } from '../outbound-auth/target-errors';

/** What dicomweb-client attaches to a failed request (status 0 when the server could not be reached). */
interface ClientRequestError {
  status?: number;
  response?: unknown;
  /** The XMLHttpRequest; ours (node-xhr.ts) keeps the socket/TLS error in networkError. */
  request?: { networkError?: unknown };
  cause?: unknown;
}

function statusOf(err: unknown): number | undefined {
  if (err && typeof err === 'object' && 'status' in err) {
    const status = (err as ClientRequestError).status;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/**
 * Turns a dicomweb-client failure into an AppError. `action` names what was attempted ("retrieve study metadata")
 * and must not contain patient data. Unreachable, timeouts, 408/429/5xx → PACS_UNAVAILABLE (retryable);
 * 401/403 → PACS_REJECTED, retryable, with an authentication hint; 404 → NOT_FOUND; other 4xx → PACS_REJECTED.
 */
export function dicomWebError(err: unknown, action: string, details: Record<string, unknown> = {}): AppError {
  if (err instanceof AppError) return err;
  const status = statusOf(err);
  const facts = { ...details, httpStatus: status };
  if (status === undefined) {
    // Not an HTTP answer: a malformed response the client could not decode.
    const reason = err instanceof Error ? err.message.slice(0, 200) : String(err);
    return new AppError('PACS_REJECTED', `DICOMweb ${action}: unexpected response (${reason})`, { cause: err, details: facts, retryable: false });
  }
  if (status === 0) {
    const e = err as ClientRequestError;
    const why = e.request?.networkError ?? e.cause;
    return new AppError('PACS_UNAVAILABLE', `DICOMweb ${action}: PACS not reachable (${why ? describeNetworkError(why) : 'connection failed or timed out'})`, { cause: err, details: facts });
  }
  if (status === 401 || status === 403) {
    // Retryable, not an outage: a token was already renewed once (OutboundTarget); a rotated secret can fix it later.
    return new AppError('PACS_REJECTED', `DICOMweb ${action}: PACS refused our credentials (HTTP ${status}); check outbound.pacs.auth (or pacsUsername/pacsPassword)`, {
      cause: err,
      details: facts,
      retryable: true,
    });
  }
  if (status === 404) {
    return new AppError('NOT_FOUND', `DICOMweb ${action}: not found on the PACS (HTTP 404)`, { cause: err, details: facts });
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new AppError('PACS_UNAVAILABLE', `DICOMweb ${action}: PACS answered HTTP ${status}`, { cause: err, details: facts });
  }
  return new AppError('PACS_REJECTED', `DICOMweb ${action}: PACS answered HTTP ${status}`, { cause: err, details: facts, retryable: false });
}

/** The response body of a failed request, when the client kept one (e.g. a STOW 409 with a FailedSOPSequence). */
export function errorResponseBody(err: unknown): unknown {
  return err && typeof err === 'object' && 'response' in err ? (err as ClientRequestError).response : undefined;
}

export function httpStatusOf(err: unknown): number | undefined {
  return statusOf(err);
}
