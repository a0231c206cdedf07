/**
 * Pixel decoding against an oracle we did not write: pydicom's pixel_array (+ its modality LUT) on Debian's
 * python3-pydicom test files, which cover implicit/explicit VR, big endian, deflate, signed/rescaled CT and
 * 32-bit multi-frame RT Dose.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFrames } from '../../src/dicom/decode';
import { readPart10 } from '../../src/dicom/part10';
import { thrown } from '../support/app-error';

const FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const PYTHON = '/usr/bin/python3';
const available = existsSync(FILES) && existsSync(PYTHON);
const describeIfPydicom = available ? describe : describe.skip;

// Writes pydicom's decoded values (modality LUT applied when the file has one) as little-endian float32.
const ORACLE = `
import sys, numpy as np, pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut
for src, out in zip(sys.argv[1::2], sys.argv[2::2]):
    ds = pydicom.dcmread(src)
    arr = ds.pixel_array
    if 'RescaleSlope' in ds or 'RescaleIntercept' in ds:
        arr = apply_modality_lut(arr, ds)
    np.ascontiguousarray(arr, dtype='<f4').tofile(out)
`;

const CASES = [
  'CT_small.dcm', // explicit LE, signed, rescale intercept -1024
  'MR_small.dcm', // explicit LE
  'MR_small_implicit.dcm', // implicit LE
  'MR_small_bigendian.dcm', // explicit BE
  'MR_small_expb.dcm', // explicit BE
  'MR_small_padded.dcm', // pixel data with trailing padding
  'rtdose.dcm', // implicit LE, 32-bit, 15 frames
  'rtdose_expb.dcm', // explicit BE, 32-bit, 15 frames
  'image_dfl.dcm', // deflated explicit LE, 8-bit
];

function read(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FILES, name)));
}

describeIfPydicom('decodeFrames against pydicom (python3-pydicom test files)', () => {
  let oracleDir = '';
  beforeAll(() => {
    oracleDir = mkdtempSync(join(tmpdir(), 'decode-oracle-'));
    const args = CASES.flatMap((name) => [join(FILES, name), join(oracleDir, `${name}.f32`)]);
    execFileSync(PYTHON, ['-c', ORACLE, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  });
  afterAll(() => rmSync(oracleDir, { recursive: true, force: true }));

  it.each(CASES)('when %s is decoded, then every value equals pydicom', (name) => {
    const decoded = decodeFrames(readPart10(read(name)));
    const ours = new Float32Array(decoded.frames.reduce((n, f) => n + f.length, 0));
    decoded.frames.reduce((at, f) => (ours.set(f, at), at + f.length), 0);
    const bytes = readFileSync(join(oracleDir, `${name}.f32`));
    const expected = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    expect(ours.length).toBe(expected.length);
    let mismatches = 0;
    for (let i = 0; i < ours.length; i++) if (ours[i] !== expected[i]) mismatches++;
    expect(mismatches).toBe(0);
    // Guard against a vacuous pass on an all-zero image.
    expect(new Set(ours).size).toBeGreaterThan(1);
  });

  it('when a file is truncated inside its pixel data, then BAD_DICOM says it is truncated', () => {
    const err = thrown(() => decodeFrames(readPart10(read('MR_truncated.dcm'))));
    expect(err.code).toBe('BAD_DICOM');
    expect(err.message).toMatch(/truncated: value of \(7fe0,0010\) .* needs 8192 bytes but only 8130 remain/);
  });

  it('when the file is not DICOM, then BAD_DICOM says so', () => {
    // rtplan.dump is dcmdump's text output shipped beside the test files.
    const err = thrown(() => readPart10(read('rtplan.dump')));
    expect(err.code).toBe('BAD_DICOM');
    expect(err.message).toMatch(/not a DICOM Part 10 file/);
  });

  it('when the transfer syntax has no codec (JPEG XL), then UNSUPPORTED_TRANSFER_SYNTAX names it', () => {
    const parsed = readPart10(read('MR_small.dcm'));
    const err = thrown(() => decodeFrames({ ...parsed, transferSyntaxUid: '1.2.840.10008.1.2.4.110' }));
    expect(err.code).toBe('UNSUPPORTED_TRANSFER_SYNTAX');
    expect(err.message).toBe('transfer syntax 1.2.840.10008.1.2.4.110 (unknown) is not supported');
  });

  it.each(['SC_rgb_small_odd.dcm', 'SC_ybr_full_422_uncompressed.dcm'])('when native colour file %s is decoded, then RGB is within 1 of pydicom', (name) => {
    const out = join(oracleDir, `${name}.rgb.f32`);
    const script = `
import numpy as np, pydicom
from pydicom.pixel_data_handlers.util import convert_color_space
ds = pydicom.dcmread(${JSON.stringify(join(FILES, name))})
arr = ds.pixel_array
if ds.PhotometricInterpretation.startswith('YBR'):
    arr = convert_color_space(arr, ds.PhotometricInterpretation, 'RGB')
np.ascontiguousarray(arr, dtype='<f4').tofile(${JSON.stringify(out)})
`;
    execFileSync(PYTHON, ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    const bytes = readFileSync(out);
    const expected = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const decoded = decodeFrames(readPart10(read(name)));
    expect(decoded.samplesPerPixel).toBe(3);
    const rgb = decoded.rgb?.[0] ?? new Float32Array(0);
    expect(rgb.length).toBe(expected.length);
    let worst = 0;
    rgb.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (expected[i] as number)))));
    expect(worst).toBeLessThanOrEqual(1);
    expect(new Set(rgb).size).toBeGreaterThan(2);
  });

  it('when the image is 1-bit (BitsAllocated 1), then it is refused with a clear reason', () => {
    const err = thrown(() => decodeFrames(readPart10(read('liver_1frame.dcm'))));
    expect(err.code).toBe('UNSUPPORTED_TRANSFER_SYNTAX');
    expect(err.message).toMatch(/BitsAllocated 1 is not supported/);
  });
});
