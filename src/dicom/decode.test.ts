import type { NaturalDataset } from 'dcmjs';
import { AppError } from '../domain/errors';
import { decodeFrames } from './decode';
import type { ParsedPart10 } from './part10';

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';

function parsed(dataset: NaturalDataset, transferSyntaxUid = EXPLICIT_LE): ParsedPart10 {
  return { transferSyntaxUid, meta: {}, dataset };
}

function u16(values: number[], littleEndian = true): ArrayBuffer {
  const view = new DataView(new ArrayBuffer(values.length * 2));
  values.forEach((v, i) => view.setUint16(i * 2, v, littleEndian));
  return view.buffer;
}

function image(extra: NaturalDataset): NaturalDataset {
  return { Rows: 2, Columns: 2, SamplesPerPixel: 1, PhotometricInterpretation: 'MONOCHROME2', BitsAllocated: 16, BitsStored: 16, HighBit: 15, PixelRepresentation: 0, ...extra };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? err.code : 'not an AppError';
  }
  return undefined;
}

describe('decodeFrames', () => {
  it('when BitsStored is 12 with garbage in the high bits, then only the stored bits count', () => {
    const out = decodeFrames(parsed(image({ BitsStored: 12, HighBit: 11, PixelData: [u16([0xf001, 0x0fff, 0x1800, 0x0000])] })));
    expect(Array.from(out.frames[0] ?? [])).toEqual([1, 4095, 2048, 0]);
  });

  it('when signed 12-bit values have the sign bit set, then they are sign-extended', () => {
    const out = decodeFrames(parsed(image({ BitsStored: 12, HighBit: 11, PixelRepresentation: 1, PixelData: [u16([0x0fff, 0x0800, 0x07ff, 0xf001])] })));
    expect(Array.from(out.frames[0] ?? [])).toEqual([-1, -2048, 2047, 1]);
  });

  it('when RescaleSlope and RescaleIntercept are present, then values are modality values', () => {
    const out = decodeFrames(parsed(image({ RescaleSlope: '2', RescaleIntercept: '-1024', PixelData: [u16([0, 1, 512, 1000])] })));
    expect(Array.from(out.frames[0] ?? [])).toEqual([-1024, -1022, 0, 976]);
  });

  it('when the image is MONOCHROME1, then it is inverted into MONOCHROME2 sense over the stored range', () => {
    const out = decodeFrames(parsed(image({ PhotometricInterpretation: 'MONOCHROME1', BitsStored: 8, HighBit: 7, PixelData: [u16([0, 255, 10, 128])] })));
    expect(Array.from(out.frames[0] ?? [])).toEqual([255, 0, 245, 127]);
  });

  it('when the transfer syntax is big endian, then 16-bit words are read big endian', () => {
    const out = decodeFrames(parsed(image({ PixelData: [u16([0x0102, 0x0304, 5, 65535], false)] }), EXPLICIT_BE));
    expect(Array.from(out.frames[0] ?? [])).toEqual([0x0102, 0x0304, 5, 65535]);
  });

  it('when the image has 3 frames of 8 bits, then 3 frames come back in order', () => {
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const out = decodeFrames(parsed(image({ NumberOfFrames: '3', BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelData: [bytes.buffer] })));
    expect(out.frames.map((f) => Array.from(f))).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]);
  });

  it('when 32-bit unsigned values use the top bit, then they stay positive', () => {
    const view = new DataView(new ArrayBuffer(16));
    [0xffffffff, 0x80000000, 1, 0].forEach((v, i) => view.setUint32(i * 4, v, true));
    const out = decodeFrames(parsed(image({ BitsAllocated: 32, BitsStored: 32, HighBit: 31, PixelData: [view.buffer] })));
    expect(Array.from(out.frames[0] ?? [])).toEqual([4294967296, 2147483648, 1, 0]);
  });

  it('when the pixel data is shorter than Rows × Columns × frames, then BAD_DICOM names the lengths', () => {
    expect(() => decodeFrames(parsed(image({ NumberOfFrames: 2, PixelData: [u16([1, 2, 3, 4])] })))).toThrow(/pixel data length 8 does not match .* = 16/);
    expect(codeOf(() => decodeFrames(parsed(image({ NumberOfFrames: 2, PixelData: [u16([1, 2, 3, 4])] }))))).toBe('BAD_DICOM');
  });

  it('when Rows × Columns × frames exceeds the voxel limit, then TOO_LARGE is thrown before reading pixels', () => {
    const huge = parsed(image({ Rows: 65535, Columns: 65535, NumberOfFrames: 1000, PixelData: [u16([1])] }));
    expect(codeOf(() => decodeFrames(huge))).toBe('TOO_LARGE');
  });

  it('when the transfer syntax is compressed and the codecs are not loaded, then INTERNAL says to load them', () => {
    const rle = parsed(image({ PixelData: [new ArrayBuffer(8)] }), '1.2.840.10008.1.2.5');
    expect(() => decodeFrames(rle)).toThrow('pixel codecs are not loaded: await loadPixelCodecs() before decoding compressed images');
    expect(codeOf(() => decodeFrames(rle))).toBe('INTERNAL');
  });

  it('when the transfer syntax is unknown, then UNSUPPORTED_TRANSFER_SYNTAX names it', () => {
    const mpeg = parsed(image({ PixelData: [new ArrayBuffer(8)] }), '1.2.840.10008.1.2.4.100');
    expect(() => decodeFrames(mpeg)).toThrow('transfer syntax 1.2.840.10008.1.2.4.100 (unknown) is not supported');
    expect(codeOf(() => decodeFrames(mpeg))).toBe('UNSUPPORTED_TRANSFER_SYNTAX');
  });

  const rgbImage = (extra: NaturalDataset): NaturalDataset =>
    image({ SamplesPerPixel: 3, PhotometricInterpretation: 'RGB', PlanarConfiguration: 0, BitsAllocated: 8, BitsStored: 8, HighBit: 7, Rows: 1, Columns: 2, ...extra });

  it('when the image is interleaved RGB, then rgb holds the samples and frames their BT.601 luminance', () => {
    const out = decodeFrames(parsed(rgbImage({ PixelData: [new Uint8Array([255, 0, 0, 0, 0, 255]).buffer] })));
    expect(out.samplesPerPixel).toBe(3);
    expect(Array.from(out.rgb?.[0] ?? [])).toEqual([255, 0, 0, 0, 0, 255]);
    expect(Array.from(out.frames[0] ?? []).map((v) => Math.round(v * 1000) / 1000)).toEqual([76.245, 29.07]);
  });

  it('when the image is planar RGB, then it is interleaved', () => {
    const out = decodeFrames(parsed(rgbImage({ PlanarConfiguration: 1, PixelData: [new Uint8Array([1, 2, 3, 4, 5, 6]).buffer] })));
    expect(Array.from(out.rgb?.[0] ?? [])).toEqual([1, 3, 5, 2, 4, 6]);
  });

  it('when the image is YBR_FULL, then grey, pure red and pure blue come back as RGB', () => {
    // Y/Cb/Cr of RGB (128,128,128), (255,0,0) and (0,0,255) rounded to integers; the way back loses up to 1.
    const ybr = [128, 128, 128, 76, 85, 255, 29, 255, 107];
    const out = decodeFrames(parsed(rgbImage({ Columns: 3, PhotometricInterpretation: 'YBR_FULL', PixelData: [new Uint8Array(ybr).buffer] })));
    expect(Array.from(out.rgb?.[0] ?? [])).toEqual([128, 128, 128, 254, 0, 0, 0, 0, 254]);
  });

  it('when the image is YBR_FULL_422, then each pair of pixels shares its chroma', () => {
    const packed = [76, 128, 85, 255, 29, 29, 255, 107];
    const out = decodeFrames(parsed(rgbImage({ Columns: 4, PhotometricInterpretation: 'YBR_FULL_422', PixelData: [new Uint8Array(packed).buffer] })));
    expect(Array.from(out.rgb?.[0] ?? [])).toEqual([254, 0, 0, 255, 52, 52, 0, 0, 254, 0, 0, 254]);
  });

  it('when the image is PALETTE COLOR, then UNSUPPORTED_TRANSFER_SYNTAX says which interpretations are supported', () => {
    const palette = parsed(image({ PhotometricInterpretation: 'PALETTE COLOR', PixelData: [new ArrayBuffer(8)] }));
    expect(() => decodeFrames(palette)).toThrow(/PhotometricInterpretation PALETTE COLOR with 1 sample\(s\) per pixel is not supported; only MONOCHROME1\/MONOCHROME2/);
  });

  it('when there is no PixelData, then BAD_DICOM is thrown', () => {
    expect(codeOf(() => decodeFrames(parsed(image({}))))).toBe('BAD_DICOM');
  });
});
