import { AppError } from '../../domain/errors';
import { framesFromItems } from './encapsulated';

const SOI = [0xff, 0xd8];
const SOC = [0xff, 0x4f];
const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

describe('framesFromItems', () => {
  it('when there is one item per frame, then each item is a frame', () => {
    const frames = framesFromItems([bytes(...SOI, 1), bytes(...SOI, 2)], 2, 'jpeg');
    expect(frames.map((f) => Array.from(f))).toEqual([[...SOI, 1], [...SOI, 2]]);
  });

  it('when a single frame comes in several fragments, then they are joined in order', () => {
    const frames = framesFromItems([bytes(...SOC, 1), bytes(2, 3), bytes(4)], 1, 'jpeg2000');
    expect(frames.map((f) => Array.from(f))).toEqual([[...SOC, 1, 2, 3, 4]]);
  });

  it('when several frames come in several fragments each without an offset table, then frames start at SOI markers', () => {
    const frames = framesFromItems([bytes(...SOI, 1), bytes(2), bytes(...SOI, 3), bytes(4), bytes(5)], 2, 'jpeg-ls');
    expect(frames.map((f) => Array.from(f))).toEqual([[...SOI, 1, 2], [...SOI, 3, 4, 5]]);
  });

  it('when fragments do not group into NumberOfFrames frames, then BAD_DICOM says how many they form', () => {
    const run = (): unknown => framesFromItems([bytes(...SOI), bytes(1), bytes(2)], 2, 'jpeg');
    expect(run).toThrow(AppError);
    expect(run).toThrow('encapsulated pixel data: 3 fragments without an offset table form 1 frames, but NumberOfFrames is 2');
  });

  it('when there are fewer fragments than frames, then BAD_DICOM counts them', () => {
    expect(() => framesFromItems([bytes(1)], 2, 'rle')).toThrow('encapsulated pixel data has 1 fragment(s) for 2 frames');
  });
});
