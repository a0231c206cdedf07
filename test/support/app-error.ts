import { AppError, type ErrorCode } from '../../src/domain/errors';

/** Runs fn and returns the AppError it throws; anything else thrown propagates, and not throwing fails. */
export function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

/** Runs fn, expects it to throw an AppError with this code, and returns its message. */
export function appErrorMessage(code: ErrorCode, fn: () => unknown): string {
  const err = thrown(fn);
  if (err.code !== code) throw err;
  return err.message;
}

/** The message of the GEOMETRY error fn throws. */
export const geometryError = (fn: () => unknown): string => appErrorMessage('GEOMETRY', fn);

/** Awaits the promise and returns the AppError it rejects with; any other rejection propagates, resolving fails. */
export async function rejected(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}
