import { AppError } from '../domain/errors';
import { IMPLEMENTATION, readPart10, writePart10 } from './part10';
import { findTruncation } from './truncation';

/** A small image with a nested sequence, written by dcmjs like any file we produce. */
function file(): Uint8Array {
  return writePart10(
    {
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
      SOPInstanceUID: '1.2.3.4',
      ReferencedSeriesSequence: [{ SeriesInstanceUID: '1.2.3.5', ReferencedInstanceSequence: [{ ReferencedSOPInstanceUID: '1.2.3.6' }] }],
      Rows: 4,
      Columns: 4,
      BitsAllocated: 16,
      PixelData: new Uint16Array(16).fill(7).buffer,
      _vrMap: { PixelData: 'OW' },
    },
    IMPLEMENTATION,
  );
}

describe('findTruncation', () => {
  it('when the file is complete, then no truncation is reported', () => {
    expect(findTruncation(file(), '1.2.840.10008.1.2.1')).toBeUndefined();
  });

  it('when the file is cut anywhere after the meta header, then readPart10 throws BAD_DICOM instead of zero-filling', () => {
    const whole = file();
    // Cuts inside the pixel data, inside the sequence, and inside an element header.
    for (const keep of [whole.length - 1, whole.length - 20, 300, 205]) {
      let caught: unknown;
      try {
        readPart10(whole.subarray(0, keep));
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(AppError);
      expect((caught as AppError).code).toBe('BAD_DICOM');
    }
    expect(findTruncation(whole.subarray(0, whole.length - 1), '1.2.840.10008.1.2.1')).toMatch(/\(7fe0,0010\) .* needs 32 bytes but only 31 remain/);
  });
});
