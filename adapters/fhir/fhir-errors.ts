import type { OperationOutcome } from '@medplum/fhirtypes';
import { AppError } from '../../src/domain/errors';
import { describeNetworkError } from '../outbound-auth/target-errors';

const MAX_OUTCOME_TEXT = 500;

/** The readable part of an OperationOutcome (or a raw error body), shortened for messages and logs. */
export function outcomeText(data: unknown): string {
  if (typeof data === 'string') return data.slice(0, MAX_OUTCOME_TEXT);
  const outcome = data as Partial<OperationOutcome> | undefined;
  if (outcome?.resourceType !== 'OperationOutcome') return '';
  const text = (outcome.issue ?? [])
    .map((i) => [i.severity, i.code, i.details?.text ?? i.diagnostics, i.expression?.join(',')].filter(Boolean).join(' '))
    .join('; ');
  return text.slice(0, MAX_OUTCOME_TEXT);
}

interface HttpFailure {
  response?: { status?: number; data?: unknown };
  name?: string;
  message?: string;
}

/**
 * Maps a failed FHIR call to an AppError that says whether a retry can help:
 * no answer, 408, 429 and 5xx → FHIR_UNAVAILABLE (retryable); 409 and 412 (a concurrent write won) → FHIR_REJECTED
 * but retryable; 401/403 → FHIR_REJECTED, retryable (credentials); any other 4xx → FHIR_REJECTED, not retryable, with the OperationOutcome's text.
 */
export function fhirCallError(err: unknown, action: string): AppError {
  if (err instanceof AppError) return err;
  const failure = err as HttpFailure;
  const status = failure.response?.status;
  if (typeof status !== 'number') {
    // fetch says only "fetch failed"; the cause says why (refused, TLS not trusted, client certificate missing).
    const reason = describeNetworkError(err);
    return new AppError('FHIR_UNAVAILABLE', `FHIR server unreachable during ${action}: ${reason}`, { cause: err });
  }
  const text = outcomeText(failure.response?.data);
  const message = `FHIR server answered HTTP ${status} to ${action}${text ? `: ${text}` : ''}`;
  const details = { upstreamStatus: status };
  if (status >= 500 || status === 408 || status === 429) {
    return new AppError('FHIR_UNAVAILABLE', message, { cause: err, details });
  }
  if (status === 401 || status === 403) {
    // Retryable but not an outage: the token was already renewed once (OutboundTarget); a later attempt with a
    // rotated secret or a fixed client may pass, and the job must not be lost.
    return new AppError('FHIR_REJECTED', `${message}; the FHIR server refused our credentials, check outbound.fhir.auth (or fhirToken)`, { cause: err, details, retryable: true });
  }
  if (status === 409 || status === 412) {
    return new AppError('FHIR_REJECTED', message, { cause: err, details, retryable: true, httpStatus: 409 });
  }
  return new AppError('FHIR_REJECTED', message, { cause: err, details, retryable: false });
}
