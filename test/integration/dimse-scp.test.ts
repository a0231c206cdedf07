/**
 * The C-STORE SCP against DCMTK's real clients (echoscu, storescu): association policy, storage as received
 * (compressed too), and nothing kept for refused associations.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_STORE_TRANSFER_SYNTAXES, DimseStoreScp } from '../../adapters/push/dimse-scp';
import { ReceivedStore } from '../../adapters/push/received-store';
import { decodeFrames, loadPixelCodecs } from '../../src/dicom/decode';
import { readPart10, str } from '../../src/dicom/part10';
import { silentLogger } from '../../src/logging';
import { dcmtk } from '../support/dcmtk';

const SAMPLE_DIR = path.join(__dirname, '..', 'fixtures', 'sample-mr', 'dicom');
const samplePath = (i: number): string => path.join(SAMPLE_DIR, `IM${String(i).padStart(4, '0')}.dcm`);

describe('C-STORE SCP with DCMTK clients', () => {
  let root: string;
  let store: ReceivedStore;
  let scp: DimseStoreScp;
  let port: number;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'scp-'));
    store = new ReceivedStore(root, { maxInstanceBytes: 64 * 1024 * 1024, logger: silentLogger });
    await store.init();
    scp = new DimseStoreScp({
      port: 0,
      aeTitle: 'CLINICALAI',
      allowedCallingAeTitles: ['MODALITY1', 'STORESCU'],
      transferSyntaxes: DEFAULT_STORE_TRANSFER_SYNTAXES,
      store,
      logger: silentLogger,
    });
    port = await scp.start();
  });

  afterAll(async () => {
    await scp.stop(1000);
  });

  const keptFiles = (): string[] =>
    readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.dcm'))
      .map((e) => path.join(e.parentPath, e.name));

  it('when echoscu calls, then the verification succeeds', async () => {
    const r = await dcmtk('echoscu', ['-aet', 'MODALITY1', '-aec', 'CLINICALAI', '127.0.0.1', String(port)]);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
  });

  it('when storescu sends three instances, then each is kept with the same data set and the study origin says dimse', async () => {
    const files = [1, 2, 3].map(samplePath);
    const r = await dcmtk('storescu', ['-aet', 'MODALITY1', '-aec', 'CLINICALAI', '127.0.0.1', String(port), ...files]);
    expect(r.code).toBe(0);
    const kept = keptFiles();
    expect(kept).toHaveLength(3);
    const original = readPart10(readFileSync(files[0] as string));
    const sop = str(original.dataset, 'SOPInstanceUID');
    const copy = kept.map((f) => readPart10(readFileSync(f))).find((p) => str(p.dataset, 'SOPInstanceUID') === sop);
    expect(copy).toBeDefined();
    expect(copy?.meta.MediaStorageSOPInstanceUID).toBe(sop);
    expect(copy?.meta.SourceApplicationEntityTitle).toBe('MODALITY1');
    expect(decodeFrames(copy as ReturnType<typeof readPart10>).frames).toEqual(decodeFrames(original).frames);
    expect(await store.originOf(str(original.dataset, 'StudyInstanceUID') as string)).toEqual({ source: 'dimse', callingAeTitle: 'MODALITY1' });
  });

  it('when a JPEG Lossless instance is sent, then it is kept as JPEG Lossless (not transcoded) and decodes to the same pixels', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'jls-'));
    const jpeg = path.join(work, 'im.dcm');
    const enc = await dcmtk('dcmcjpeg', [samplePath(4), jpeg]);
    expect(enc.code).toBe(0);
    const before = keptFiles().length;
    // -xs: propose JPEG Lossless SV1, so storescu sends the file as it is.
    const r = await dcmtk('storescu', ['-xs', '-aet', 'STORESCU', '-aec', 'CLINICALAI', '127.0.0.1', String(port), jpeg]);
    expect(r.code).toBe(0);
    const added = keptFiles().map((f) => readPart10(readFileSync(f))).filter((p) => p.transferSyntaxUid === '1.2.840.10008.1.2.4.70');
    expect(keptFiles()).toHaveLength(before + 1);
    expect(added).toHaveLength(1);
    await loadPixelCodecs();
    expect(decodeFrames(added[0] as ReturnType<typeof readPart10>).frames).toEqual(decodeFrames(readPart10(readFileSync(samplePath(4)))).frames);
  });

  it('when the calling AE title is not allowed, then the association is rejected (calling AE not recognized) and nothing is kept', async () => {
    const before = keptFiles().length;
    const r = await dcmtk('storescu', ['-aet', 'INTRUDER', '-aec', 'CLINICALAI', '127.0.0.1', String(port), samplePath(5)]);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/Association Rejected/i);
    expect(r.output).toMatch(/Calling AE Title Not Recognized/i);
    expect(keptFiles()).toHaveLength(before);
  });

  it('when the called AE title is not ours, then the association is rejected (called AE not recognized)', async () => {
    const r = await dcmtk('echoscu', ['-aet', 'MODALITY1', '-aec', 'SOMEONEELSE', '127.0.0.1', String(port)]);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/Called AE Title Not Recognized/i);
  });

  it('when an instance is larger than maxInstanceBytes, then storescu gets status A700 (out of resources) and nothing is kept', async () => {
    const smallRoot = mkdtempSync(path.join(tmpdir(), 'scp-small-'));
    const small = new ReceivedStore(smallRoot, { maxInstanceBytes: 8 * 1024, logger: silentLogger });
    await small.init();
    const tight = new DimseStoreScp({ port: 0, aeTitle: 'CLINICALAI', allowedCallingAeTitles: [], transferSyntaxes: DEFAULT_STORE_TRANSFER_SYNTAXES, store: small, logger: silentLogger });
    const tightPort = await tight.start();
    try {
      const r = await dcmtk('storescu', ['-v', '-aec', 'CLINICALAI', '127.0.0.1', String(tightPort), samplePath(6)]);
      expect(r.code).not.toBe(0);
      expect(r.output).toContain('Received Store Response (Refused: OutOfResources)');
      expect(readdirSync(smallRoot, { recursive: true }).filter((f) => String(f).endsWith('.dcm'))).toHaveLength(0);
      expect(readdirSync(path.join(smallRoot, '.incoming'))).toHaveLength(0);
    } finally {
      await tight.stop(1000);
    }
  });

  it('when the transfers are over, then no temporary file is left behind', () => {
    expect(readdirSync(path.join(root, '.incoming'))).toHaveLength(0);
  });
});
