import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { AppError } from '../domain/errors';
import { niftiVoxelToRas, rasToNiftiVoxel, readNifti } from './nifti';

interface HeaderFields {
  dims: [number, number, number];
  datatype: number;
  bitpix: number;
  pixdim?: [number, number, number];
  qfac?: number;
  slope?: number;
  inter?: number;
  sform?: number[][];
  quatern?: [number, number, number];
  qoffset?: [number, number, number];
  values: number[];
  littleEndian?: boolean;
}

/** Builds a single-file NIfTI-1 image byte by byte (the layout of nifti1.h). */
function nifti(h: HeaderFields): Uint8Array {
  const le = h.littleEndian ?? true;
  const bytesPer = h.bitpix / 8;
  const buf = new ArrayBuffer(352 + h.values.length * bytesPer);
  const v = new DataView(buf);
  v.setInt32(0, 348, le);
  [3, ...h.dims, 1, 1, 1, 1].forEach((d, i) => v.setInt16(40 + i * 2, d, le));
  v.setInt16(70, h.datatype, le);
  v.setInt16(72, h.bitpix, le);
  [h.qfac ?? 1, ...(h.pixdim ?? [1, 1, 1])].forEach((d, i) => v.setFloat32(76 + i * 4, d, le));
  v.setFloat32(108, 352, le);
  v.setFloat32(112, h.slope ?? 0, le);
  v.setFloat32(116, h.inter ?? 0, le);
  if (h.quatern) {
    v.setInt16(252, 1, le);
    h.quatern.forEach((q, i) => v.setFloat32(256 + i * 4, q, le));
    (h.qoffset ?? [0, 0, 0]).forEach((q, i) => v.setFloat32(268 + i * 4, q, le));
  }
  if (h.sform) {
    v.setInt16(254, 1, le);
    h.sform.forEach((row, r) => row.forEach((x, c) => v.setFloat32(280 + r * 16 + c * 4, x, le)));
  }
  new Uint8Array(buf).set([0x6e, 0x2b, 0x31, 0], 344);
  h.values.forEach((x, i) => {
    const o = 352 + i * bytesPer;
    if (h.datatype === 4) v.setInt16(o, x, le);
    else if (h.datatype === 2) v.setUint8(o, x);
    else if (h.datatype === 16) v.setFloat32(o, x, le);
  });
  return new Uint8Array(buf);
}

describe('readNifti', () => {
  it('when the file has an sform and scl_slope, then values are scaled and the affine is the sform', () => {
    const sform = [
      [-2, 0, 0, 10],
      [0, 2, 0, -20],
      [0, 0, 3, 5],
    ];
    const vol = readNifti(nifti({ dims: [2, 2, 1], datatype: 4, bitpix: 16, slope: 0.5, inter: 10, sform, values: [0, -2, 4, 100] }));
    expect(vol.dims).toEqual([2, 2, 1]);
    expect(Array.from(vol.data)).toEqual([10, 9, 12, 60]);
    expect(vol.affineSource).toBe('sform');
    expect(niftiVoxelToRas(vol, 1, 1, 1)).toEqual([8, -18, 8]);
  });

  it('when the file is gzipped and big endian, then it reads the same', () => {
    const plain = nifti({ dims: [3, 1, 1], datatype: 16, bitpix: 32, values: [1.5, -2, 3], littleEndian: false });
    const vol = readNifti(new Uint8Array(gzipSync(plain)));
    expect(Array.from(vol.data)).toEqual([1.5, -2, 3]);
    expect(vol.affineSource).toBe('pixdim');
  });

  it('when only a qform is set (90° about z, qfac −1), then the affine follows the NIfTI quaternion rules', () => {
    // b = c = 0, d = sin(45°): rotation by 90° about z; qfac −1 flips the third axis.
    const s = Math.SQRT1_2;
    const vol = readNifti(nifti({ dims: [2, 2, 2], datatype: 2, bitpix: 8, pixdim: [1, 2, 3], qfac: -1, quatern: [0, 0, s], qoffset: [5, 6, 7], values: [0, 1, 2, 3, 4, 5, 6, 7] }));
    expect(vol.affineSource).toBe('qform');
    const p = niftiVoxelToRas(vol, 1, 1, 1);
    // x' = −2·j, y' = 1·i, z' = −3·k (plus offsets).
    expect(p[0]).toBeCloseTo(5 - 2, 5);
    expect(p[1]).toBeCloseTo(6 + 1, 5);
    expect(p[2]).toBeCloseTo(7 - 3, 5);
    const back = rasToNiftiVoxel(vol)(p);
    back.forEach((x) => expect(x).toBeCloseTo(1, 5));
  });

  it('when the magic is wrong, then the error says it is not NIfTI-1', () => {
    const bytes = nifti({ dims: [1, 1, 1], datatype: 2, bitpix: 8, values: [1] });
    bytes[345] = 0x00;
    expect(() => readNifti(bytes)).toThrow(AppError);
    expect(() => readNifti(bytes)).toThrow(/magic/);
  });

  it('when the image data runs past the end, then the error says so', () => {
    const bytes = nifti({ dims: [4, 4, 4], datatype: 2, bitpix: 8, values: [1] });
    expect(() => readNifti(bytes)).toThrow(/runs past the end/);
  });

  const ch2 = '/usr/share/mricron/templates/ch2.nii.gz';
  (existsSync(ch2) ? it : it.skip)('when reading Colin27 (mricron-data), then dims and sform match its header', () => {
    const vol = readNifti(new Uint8Array(readFileSync(ch2)));
    expect(vol.dims).toEqual([181, 217, 181]);
    expect(vol.datatype).toBe(2);
    expect(vol.affineSource).toBe('sform');
    expect(niftiVoxelToRas(vol, 90, 125, 71)).toEqual([0, 0, 0]);
  });
});
