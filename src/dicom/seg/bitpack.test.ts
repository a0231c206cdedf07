import { forEachSetPixel, packedByteLength, packFrames, packLabelMap, type FrameSelector } from './bitpack';

/** The obvious reference: one bit at a time, frame f at bit f * pixels, LSB first, padded to even length. */
function naivePack(labels: Uint8Array, pixels: number, frames: FrameSelector[]): Uint8Array {
  const bytes = Math.ceil((frames.length * pixels) / 8);
  const out = new Uint8Array(bytes % 2 === 0 ? bytes : bytes + 1);
  frames.forEach((frame, f) => {
    for (let p = 0; p < pixels; p++) {
      if (labels[frame.offset + p] === frame.value) {
        const bit = f * pixels + p;
        out[Math.floor(bit / 8)] = (out[Math.floor(bit / 8)] ?? 0) | (1 << bit % 8);
      }
    }
  });
  return out;
}

/** Deterministic pseudo-random labels 0..maxLabel (xorshift), so failures reproduce. */
function randomLabels(n: number, maxLabel: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % (maxLabel + 1);
  }
  return out;
}

/** Every (label, slice) pair, segment-major, like the encoder orders frames. */
function allFrames(slices: number, pixels: number, maxLabel: number): FrameSelector[] {
  const frames: FrameSelector[] = [];
  for (let value = 1; value <= maxLabel; value++) {
    for (let k = 0; k < slices; k++) frames.push({ offset: k * pixels, value });
  }
  return frames;
}

const SIZES: Array<[columns: number, rows: number, slices: number]> = [
  [63, 61, 5],
  [1, 1, 9],
  [8, 8, 3],
  [7, 3, 4],
  [16, 9, 2],
  [512, 3, 2],
];

describe('packFrames', () => {
  for (const [columns, rows, slices] of SIZES) {
    for (const strategy of ['auto', 'bytes'] as const) {
      test(`when frames are ${columns}x${rows} (${strategy}), then the bytes equal the naive bit-by-bit packer`, () => {
        const pixels = columns * rows;
        const labels = randomLabels(pixels * slices, 3, columns * 7919 + rows);
        const frames = allFrames(slices, pixels, 3);
        expect(Buffer.from(packFrames(labels, pixels, frames, strategy))).toEqual(Buffer.from(naivePack(labels, pixels, frames)));
      });
    }
  }

  test('when labels use the whole byte range (high bit set), then the word-wise compare matches exactly', () => {
    const pixels = 37 * 29;
    const labels = randomLabels(pixels * 4, 255, 4242);
    // Neighbouring values too, where a sloppy zero-byte test would give false positives.
    const frames = [1, 127, 128, 129, 254, 255].flatMap((value) => [0, 1, 2, 3].map((k) => ({ offset: k * pixels, value })));
    expect(Buffer.from(packFrames(labels, pixels, frames))).toEqual(Buffer.from(naivePack(labels, pixels, frames)));
  });

  test('when the label map view does not start on a 4-byte boundary, then packing is still exact', () => {
    const pixels = 63 * 61;
    const backing = randomLabels(pixels * 3 + 1, 2, 99);
    const labels = backing.subarray(1);
    const frames = allFrames(3, pixels, 2);
    expect(Buffer.from(packFrames(labels, pixels, frames))).toEqual(Buffer.from(naivePack(labels, pixels, frames)));
  });

  test('when frames are not a multiple of 8 pixels, then frame f starts at bit f * rows * columns, not on a byte', () => {
    // 3 frames of 3 pixels, all set: bits 0..8 set = 0xff, 0x01, then one pad byte to make the length even.
    const labels = new Uint8Array(9).fill(1);
    const packed = packFrames(labels, 3, [0, 3, 6].map((offset) => ({ offset, value: 1 })));
    expect([...packed]).toEqual([0xff, 0x01]);
  });

  test('when the first pixel is set, then it is the least significant bit of the first byte', () => {
    const labels = new Uint8Array(16);
    labels[0] = 2;
    labels[9] = 2;
    expect([...packFrames(labels, 16, [{ offset: 0, value: 2 }])]).toEqual([0x01, 0x02]);
  });

  test('when the packed length is odd, then it is padded to an even length', () => {
    expect(packedByteLength(1, 1)).toBe(2);
    expect(packedByteLength(3, 63 * 61)).toBe(1442); // ceil(11529 / 8) = 1442, already even
    expect(packedByteLength(1, 63 * 61)).toBe(482); // ceil(3843 / 8) = 481 -> 482
  });
});

describe('forEachSetPixel', () => {
  test('when packed frames are unpacked, then every frame gives back its mask exactly', () => {
    const [columns, rows, slices] = [63, 61, 4];
    const pixels = columns * rows;
    const labels = randomLabels(pixels * slices, 2, 1234);
    const frames = allFrames(slices, pixels, 2);
    const packed = packFrames(labels, pixels, frames);
    frames.forEach((frame, f) => {
      const mask = new Uint8Array(pixels);
      forEachSetPixel(packed, f, pixels, (p) => {
        mask[p] = 1;
      });
      const expected = labels.subarray(frame.offset, frame.offset + pixels).map((v) => (v === frame.value ? 1 : 0));
      expect(Buffer.from(mask).equals(Buffer.from(expected))).toBe(true);
    });
  });
});

/** Frames segment-major over the (label, slice) pairs that occur, and the frame index table packLabelMap takes. */
function presentFrames(labels: Uint8Array, pixels: number, slices: number, maxLabel: number): { frames: FrameSelector[]; frameOf: Int32Array } {
  const frames: FrameSelector[] = [];
  const frameOf = new Int32Array(slices * 256).fill(-1);
  for (let value = 1; value <= maxLabel; value++) {
    for (let k = 0; k < slices; k++) {
      if (!labels.subarray(k * pixels, (k + 1) * pixels).includes(value)) continue;
      frameOf[k * 256 + value] = frames.length;
      frames.push({ offset: k * pixels, value });
    }
  }
  return { frames, frameOf };
}

/** Runs of one label (as segmentations have) with random boundaries, so both the whole-byte and the mixed paths run. */
function blockyLabels(n: number, maxLabel: number, seed: number): Uint8Array {
  const noise = randomLabels(n, 1000, seed);
  const out = new Uint8Array(n);
  let label = 0;
  for (let i = 0; i < n; i++) {
    if ((noise[i] ?? 0) % 37 === 0) label = (noise[i] ?? 0) % (maxLabel + 1);
    out[i] = label;
  }
  return out;
}

describe('packLabelMap (one pass over the label map)', () => {
  const cases: Array<[columns: number, rows: number, slices: number]> = [...SIZES, [64, 64, 6], [512, 8, 3]];
  for (const [columns, rows, slices] of cases) {
    for (const kind of ['random', 'blocky'] as const) {
      test(`when frames are ${columns}x${rows}x${slices} with ${kind} labels, then the bytes equal the naive packer`, () => {
        const pixels = columns * rows;
        const make = kind === 'random' ? randomLabels : blockyLabels;
        const labels = make(pixels * slices, 4, columns * 31 + rows);
        const { frames, frameOf } = presentFrames(labels, pixels, slices, 4);
        const length = packedByteLength(frames.length, pixels);
        const out = new Uint8Array(length + Math.ceil(pixels / 8));
        expect(packLabelMap(labels, pixels, slices, frameOf, out, length)).toBe(true);
        expect(Buffer.from(out.subarray(0, length))).toEqual(Buffer.from(naivePack(labels, pixels, frames)));
      });
    }
  }

  test('when the label map starts at an odd byte offset, then the voxel-by-voxel path gives the same bytes', () => {
    const pixels = 64 * 8;
    const backing = new Uint8Array(pixels * 3 + 1);
    const labels = backing.subarray(1);
    labels.set(blockyLabels(pixels * 3, 3, 99));
    const { frames, frameOf } = presentFrames(labels, pixels, 3, 3);
    const length = packedByteLength(frames.length, pixels);
    const out = new Uint8Array(length + pixels / 8);
    expect(packLabelMap(labels, pixels, 3, frameOf, out, length)).toBe(true);
    expect(Buffer.from(out.subarray(0, length))).toEqual(Buffer.from(naivePack(labels, pixels, frames)));
  });

  it.each([
    [64, 8],
    [63, 61],
  ])('when a label has no frame (%ix%i), then packing says so and the frames of the others are still exact', (columns, rows) => {
    const pixels = columns * rows;
    const labels = blockyLabels(pixels * 4, 3, 7);
    const { frames, frameOf } = presentFrames(labels, pixels, 4, 2); // label 3 is left without frames
    expect(labels.includes(3)).toBe(true);
    const length = packedByteLength(frames.length, pixels);
    const out = new Uint8Array(length + Math.ceil(pixels / 8));
    expect(packLabelMap(labels, pixels, 4, frameOf, out, length)).toBe(false);
    expect(Buffer.from(out.subarray(0, length))).toEqual(Buffer.from(naivePack(labels, pixels, frames)));
  });
});
