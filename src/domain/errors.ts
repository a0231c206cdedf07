/**
 * The one error type of the service. Every failure that crosses a module boundary becomes an AppError so that
 * HTTP answers, job states and retry decisions are made from the same three facts: code, status, retryable.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  /** no or unknown credentials */
  | 'UNAUTHORIZED'
  /** credentials without the role the route needs, or the route disabled by configuration */
  | 'FORBIDDEN'
  /** too many failed authentication attempts from one client (src/http/auth/authenticate.ts) */
  | 'RATE_LIMITED'
  /** the identity provider (discovery, JWKS) cannot be reached, so a token cannot be checked */
  | 'AUTH_UNAVAILABLE'
  | 'NOT_FOUND'
  /** the resource is not in a state the request can act on */
  | 'CONFLICT'
  | 'CONFIG_INVALID'
  | 'BAD_DICOM'
  | 'UNSUPPORTED_TRANSFER_SYNTAX'
  | 'GEOMETRY'
  | 'NO_MATCHING_SERIES'
  | 'MODEL_INVALID'
  | 'INFERENCE_FAILED'
  | 'SEG_INVALID'
  | 'FHIR_INVALID'
  | 'PACS_UNAVAILABLE'
  | 'PACS_REJECTED'
  | 'FHIR_UNAVAILABLE'
  | 'FHIR_REJECTED'
  | 'TOO_LARGE'
  | 'OVERLOADED'
  /** the disk of the data dir is below its free-space watermark */
  | 'STORAGE_FULL'
  /** the study changed after the job was routed: its outputs wait for the study to settle (not an attempt) */
  | 'STUDY_CHANGING'
  /** the process stopped while the job ran too many times (src/domain/job.ts interruptedError) */
  | 'INTERRUPTED'
  | 'INTERNAL';

const DEFAULT_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  AUTH_UNAVAILABLE: 503,
  NOT_FOUND: 404,
  CONFLICT: 409,
  CONFIG_INVALID: 500,
  BAD_DICOM: 422,
  UNSUPPORTED_TRANSFER_SYNTAX: 415,
  GEOMETRY: 422,
  NO_MATCHING_SERIES: 422,
  MODEL_INVALID: 500,
  INFERENCE_FAILED: 500,
  SEG_INVALID: 500,
  FHIR_INVALID: 500,
  PACS_UNAVAILABLE: 503,
  PACS_REJECTED: 502,
  FHIR_UNAVAILABLE: 503,
  FHIR_REJECTED: 502,
  TOO_LARGE: 413,
  OVERLOADED: 503,
  STORAGE_FULL: 503,
  STUDY_CHANGING: 503,
  INTERRUPTED: 500,
  INTERNAL: 500,
};

/** Codes whose cause is outside us and may go away by itself (network, a restarting server). */
const RETRYABLE_BY_DEFAULT = new Set<ErrorCode>(['PACS_UNAVAILABLE', 'FHIR_UNAVAILABLE', 'OVERLOADED', 'STORAGE_FULL', 'RATE_LIMITED', 'AUTH_UNAVAILABLE']);

export interface AppErrorOptions {
  httpStatus?: number;
  retryable?: boolean;
  cause?: unknown;
  /** Extra facts safe to log and to show to clients (never patient data). */
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.httpStatus = options.httpStatus ?? DEFAULT_STATUS[code];
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.details = options.details;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Wraps anything thrown into an AppError; unknown errors become INTERNAL and keep their message only. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AppError('INTERNAL', message, { cause: err });
}
