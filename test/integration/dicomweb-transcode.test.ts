import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOrthancSource } from '../../adapters/orthanc/orthanc-source';
import { decodeFrames, loadPixelCodecs } from '../../src/dicom/decode';
import { EXPLICIT_VR_LITTLE_ENDIAN, readPart10, str } from '../../src/dicom/part10';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';

const JPEG_LS_LOSSLESS = '1.2.840.10008.1.2.4.80';
const SOURCE = join(__dirname, '../fixtures/sample-mr/dicom/IM0045.dcm');

let orthanc: TestOrthanc;
let dir = '';
let study = '';
let series = '';
let sop = '';

beforeAll(async () => {
  await loadPixelCodecs();
  dir = mkdtempSync(join(tmpdir(), 'transcode-'));
  const compressed = join(dir, 'jls.dcm');
  execFileSync('dcmcjpls', [SOURCE, compressed], { stdio: ['ignore', 'ignore', 'pipe'] });
  const parsed = readPart10(new Uint8Array(readFileSync(compressed)));
  expect(parsed.transferSyntaxUid).toBe(JPEG_LS_LOSSLESS);
  study = str(parsed.dataset, 'StudyInstanceUID') ?? '';
  series = str(parsed.dataset, 'SeriesInstanceUID') ?? '';
  sop = str(parsed.dataset, 'SOPInstanceUID') ?? '';
  orthanc = await startOrthanc();
  await orthanc.upload(new Uint8Array(readFileSync(compressed)));
});

afterAll(async () => {
  await orthanc?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function source(transcode: boolean): ReturnType<typeof createOrthancSource> {
  return createOrthancSource({ baseUrl: orthanc.baseUrl, auth: { username: orthanc.username, password: orthanc.password }, transcode });
}

describe('DICOMweb transcoding option against a real Orthanc holding a JPEG-LS instance', () => {
  const original = (): Float32Array => decodeFrames(readPart10(new Uint8Array(readFileSync(SOURCE)))).frames[0] as Float32Array;

  it('when transcode is off, then the instance comes back JPEG-LS as stored and decodes to the original pixels', async () => {
    const [bytes] = await source(false).retrieveInstances(study, series, [sop]);
    const parsed = readPart10(bytes!);
    expect(parsed.transferSyntaxUid).toBe(JPEG_LS_LOSSLESS);
    expect(Array.from(decodeFrames(parsed).frames[0]!)).toEqual(Array.from(original()));
  });

  it('when transcode is on, then Orthanc sends Explicit VR Little Endian with the same pixels', async () => {
    const [bytes] = await source(true).retrieveInstances(study, series, [sop]);
    const parsed = readPart10(bytes!);
    expect(parsed.transferSyntaxUid).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
    expect(Array.from(decodeFrames(parsed).frames[0]!)).toEqual(Array.from(original()));
  });
});
