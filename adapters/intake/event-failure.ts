import type { AppError, ErrorCode } from '../../src/domain/errors';

/**
 * Failures that belong to the study itself (unreadable metadata, deleted meanwhile, too large): delivering the event
 * again cannot help, so a pull intake logs them and moves on instead of stalling every later study behind one
 * poison study. Anything else (PACS or job store unavailable, refused credentials, a bug) keeps the event pending:
 * it is delivered again, and the cursor or watermark does not pass it.
 */
const STUDY_PROBLEMS = new Set<ErrorCode>(['BAD_DICOM', 'NOT_FOUND', 'TOO_LARGE', 'GEOMETRY', 'NO_MATCHING_SERIES', 'UNSUPPORTED_TRANSFER_SYNTAX', 'BAD_REQUEST']);

export function isStudyProblem(err: AppError): boolean {
  return STUDY_PROBLEMS.has(err.code) && !err.retryable;
}
