import { AppError, type ErrorCode } from '../../src/domain/errors';

/** Runs fn, expects it to throw an AppError with this code, and returns its message (other errors propagate). */
export function appErrorMessage(code: ErrorCode, fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError && err.code === code) return err.message;
    throw err;
  }
  throw new Error(`expected a ${code} error`);
}

/** The message of the GEOMETRY error fn throws. */
export const geometryError = (fn: () => unknown): string => appErrorMessage('GEOMETRY', fn);
