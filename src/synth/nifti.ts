import { gunzipSync } from 'node:zlib';
import { AppError } from '../domain/errors';

/**
 * A minimal NIfTI-1 reader (single file .nii or .nii.gz, 3D scalar volumes) used to turn public brain templates
 * into synthetic DICOM series. Values are returned scaled by scl_slope/scl_inter; geometry as a voxel → RAS (mm)
 * affine from the sform, else the qform, else the voxel sizes.
 */
export interface NiftiVolume {
  /** [nx, ny, nz]. */
  dims: [number, number, number];
  /** Voxel sizes [dx, dy, dz] in mm. */
  pixdim: [number, number, number];
  /** NIfTI datatype code of the stored values (2 uint8, 4 int16, 16 float32, …). */
  datatype: number;
  /** Scaled values, x fastest: data[x + nx * (y + ny * z)]. */
  data: Float32Array;
  /** Row-major 3×4 affine: RAS = A · [x y z 1]. */
  affine: number[][];
  /** Which header transform gave the affine. */
  affineSource: 'sform' | 'qform' | 'pixdim';
}

const HEADER_SIZE = 348;
const MAX_VOXELS = 512 * 512 * 512;
const MAX_INFLATED_BYTES = 2 * 1024 * 1024 * 1024 - 1;

type TypedArrayCtor = new (buffer: ArrayBuffer) => ArrayLike<number>;

const DATATYPES: Record<number, { bytes: number; array: TypedArrayCtor; read: (v: DataView, o: number, le: boolean) => number }> = {
  2: { bytes: 1, array: Uint8Array, read: (v, o) => v.getUint8(o) },
  4: { bytes: 2, array: Int16Array, read: (v, o, le) => v.getInt16(o, le) },
  8: { bytes: 4, array: Int32Array, read: (v, o, le) => v.getInt32(o, le) },
  16: { bytes: 4, array: Float32Array, read: (v, o, le) => v.getFloat32(o, le) },
  64: { bytes: 8, array: Float64Array, read: (v, o, le) => v.getFloat64(o, le) },
  256: { bytes: 1, array: Int8Array, read: (v, o) => v.getInt8(o) },
  512: { bytes: 2, array: Uint16Array, read: (v, o, le) => v.getUint16(o, le) },
  768: { bytes: 4, array: Uint32Array, read: (v, o, le) => v.getUint32(o, le) },
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bad(message: string): AppError {
  return new AppError('BAD_REQUEST', `NIfTI: ${message}`);
}

/** Rotation part of the qform (NIfTI-1 quaternion convention) times voxel sizes, plus the offsets. */
function qformAffine(view: DataView, le: boolean, pixdim: [number, number, number], qfac: number): number[][] {
  const b = view.getFloat32(256, le);
  const c = view.getFloat32(260, le);
  const d = view.getFloat32(264, le);
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const offsets = [view.getFloat32(268, le), view.getFloat32(272, le), view.getFloat32(276, le)];
  const scale = [pixdim[0], pixdim[1], pixdim[2] * qfac];
  return r.map((row, i) => [...row.map((v, j) => v * (scale[j] as number)), offsets[i] as number]);
}

export function readNifti(input: Uint8Array): NiftiVolume {
  let bytes = input;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    bytes = new Uint8Array(gunzipSync(bytes, { maxOutputLength: MAX_INFLATED_BYTES }));
  }
  if (bytes.length < HEADER_SIZE) throw bad(`file of ${bytes.length} bytes is shorter than a header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = view.getInt32(0, true) === HEADER_SIZE;
  if (!le && view.getInt32(0, false) !== HEADER_SIZE) throw bad('sizeof_hdr is not 348 (not NIfTI-1)');
  const magic = String.fromCharCode(bytes[344] ?? 0, bytes[345] ?? 0, bytes[346] ?? 0);
  if (magic !== 'n+1') throw bad(`magic "${magic}" is not a single-file NIfTI-1 ("n+1")`);
  const ndim = view.getInt16(40, le);
  const dims: [number, number, number] = [view.getInt16(42, le), view.getInt16(44, le), view.getInt16(46, le)];
  const extraDims = [48, 50, 52, 54].map((o) => view.getInt16(o, le)).slice(0, Math.max(0, ndim - 3));
  if (ndim < 1 || ndim > 7 || extraDims.some((d) => d > 1)) throw bad(`only 3D scalar volumes are supported (dim[0] = ${ndim})`);
  for (let i = ndim; i < 3; i++) dims[i] = 1;
  if (dims.some((d) => d < 1)) throw bad(`invalid dimensions ${dims.join('×')}`);
  const voxels = dims[0] * dims[1] * dims[2];
  if (voxels > MAX_VOXELS) throw new AppError('TOO_LARGE', `NIfTI: ${voxels} voxels exceed the limit of ${MAX_VOXELS}`);
  const datatype = view.getInt16(70, le);
  const type = DATATYPES[datatype];
  if (!type) throw bad(`datatype ${datatype} is not supported`);
  const qfacRaw = view.getFloat32(76, le);
  const pixdim: [number, number, number] = [view.getFloat32(80, le), view.getFloat32(84, le), view.getFloat32(88, le)].map((v) =>
    v > 0 ? v : 1,
  ) as [number, number, number];
  const voxOffset = Math.floor(view.getFloat32(108, le));
  if (voxOffset < HEADER_SIZE || voxOffset + voxels * type.bytes > bytes.length) {
    throw bad(`image data (offset ${voxOffset}, ${voxels * type.bytes} bytes) runs past the end of the file (${bytes.length} bytes)`);
  }
  let slope = view.getFloat32(112, le);
  const inter = view.getFloat32(116, le);
  // scl_slope 0 means "no scaling" in NIfTI-1.
  if (!Number.isFinite(slope) || slope === 0) slope = 1;
  const offset = Number.isFinite(inter) ? inter : 0;
  const data = new Float32Array(voxels);
  if (le === HOST_LITTLE_ENDIAN) {
    // Native byte order: view an aligned copy as a typed array (DataView per voxel is far slower).
    const stored = new type.array(bytes.slice(voxOffset, voxOffset + voxels * type.bytes).buffer);
    for (let p = 0; p < voxels; p++) data[p] = (stored[p] as number) * slope + offset;
  } else {
    for (let p = 0; p < voxels; p++) data[p] = type.read(view, voxOffset + p * type.bytes, le) * slope + offset;
  }

  const qformCode = view.getInt16(252, le);
  const sformCode = view.getInt16(254, le);
  let affine: number[][];
  let affineSource: NiftiVolume['affineSource'];
  if (sformCode > 0) {
    affine = [280, 296, 312].map((o) => [0, 4, 8, 12].map((k) => view.getFloat32(o + k, le)));
    affineSource = 'sform';
  } else if (qformCode > 0) {
    affine = qformAffine(view, le, pixdim, qfacRaw < 0 ? -1 : 1);
    affineSource = 'qform';
  } else {
    affine = [
      [pixdim[0], 0, 0, 0],
      [0, pixdim[1], 0, 0],
      [0, 0, pixdim[2], 0],
    ];
    affineSource = 'pixdim';
  }
  return { dims, pixdim, datatype, data, affine, affineSource };
}

/** RAS (mm) position of voxel (x, y, z). */
export function niftiVoxelToRas(vol: Pick<NiftiVolume, 'affine'>, x: number, y: number, z: number): [number, number, number] {
  return vol.affine.map((r) => (r[0] as number) * x + (r[1] as number) * y + (r[2] as number) * z + (r[3] as number)) as [number, number, number];
}

/** Inverse of the affine, as a function RAS → fractional voxel index. */
export function rasToNiftiVoxel(vol: Pick<NiftiVolume, 'affine'>): (ras: [number, number, number]) => [number, number, number] {
  const m = vol.affine;
  const at = (i: number, j: number): number => m[i]?.[j] ?? 0;
  const a = at(0, 0), b = at(0, 1), c = at(0, 2);
  const d = at(1, 0), e = at(1, 1), f = at(1, 2);
  const g = at(2, 0), h = at(2, 1), k = at(2, 2);
  const det = a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g);
  if (Math.abs(det) < 1e-12) throw bad('affine is singular');
  const inv = [
    [(e * k - f * h) / det, (c * h - b * k) / det, (b * f - c * e) / det],
    [(f * g - d * k) / det, (a * k - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
  const t = [at(0, 3), at(1, 3), at(2, 3)];
  return (ras) => {
    const r = [ras[0] - (t[0] as number), ras[1] - (t[1] as number), ras[2] - (t[2] as number)];
    return inv.map((row) => (row[0] as number) * (r[0] as number) + (row[1] as number) * (r[1] as number) + (row[2] as number) * (r[2] as number)) as [number, number, number];
  };
}
