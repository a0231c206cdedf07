import { toAppError, type AppError, type ErrorCode } from '../../src/domain/errors';
import { logHash } from '../../src/domain/identity';
import type { StudyEvent } from '../../src/domain/study';
import type { Logger } from '../../src/logging';

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

/**
 * Hands one event to onEvent for a pull intake (`who` names it in the logs). true: handled — delivered, or a study
 * problem logged and skipped; false: a failure a retry can fix, so the intake must deliver it again later.
 */
export async function deliverEvent(event: StudyEvent, onEvent: (event: StudyEvent) => Promise<void>, logger: Logger, who: string): Promise<boolean> {
  try {
    await onEvent(event);
    return true;
  } catch (err) {
    const e = toAppError(err);
    const study = logHash(event.studyInstanceUid);
    if (isStudyProblem(e)) {
      logger.error({ study, code: e.code, err: e.message }, `study cannot be turned into jobs; ${who} skips it`);
      return true;
    }
    logger.warn({ study, code: e.code, err: e.message }, `${who} could not deliver a study; it is delivered again on the next run`);
    return false;
  }
}
