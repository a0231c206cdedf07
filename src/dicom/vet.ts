import { toAppError } from '../domain/errors';
import type { VetResult } from '../ports/dicom-vetting';
import { readPart10 } from './part10';
import { checkPixelSize, type PixelSizeLimits } from './pixel-size';

export type VetLimits = PixelSizeLimits;

/**
 * The risky work a vetter does on one file: the full parse plus the pixel-size checks. Ordinary refusals
 * (not DICOM, truncated, over a limit) are results; anything else thrown here is reported as BAD_DICOM.
 */
export function vetDicomBytes(bytes: Uint8Array, limits: VetLimits): VetResult {
  try {
    const parsed = readPart10(bytes, { maxBytes: limits.maxInstanceBytes });
    checkPixelSize(parsed.dataset, parsed.transferSyntaxUid, limits);
    return { ok: true };
  } catch (err) {
    const e = toAppError(err);
    return { ok: false, code: e.code === 'TOO_LARGE' ? 'TOO_LARGE' : 'BAD_DICOM', message: e.code === 'INTERNAL' ? 'DICOM file could not be parsed' : e.message };
  }
}
