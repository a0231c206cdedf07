/**
 * The C-STORE SCP against DCMTK's real clients (echoscu, storescu): association policy, storage as received
 * (compressed too), and nothing kept for refused associations.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_STORE_TRANSFER_SYNTAXES, DimseStoreScp } from '../../adapters/push/dimse-scp';
import { ReceivedStore } from '../../adapters/push/received-store';
import type { SpaceGate } from '../../adapters/storage/storage-monitor';
import { decodeFrames, loadPixelCodecs } from '../../src/dicom/decode';
import { readPart10, str } from '../../src/dicom/part10';
import { createLogger, silentLogger } from '../../src/logging';
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

describe('C-STORE SCP under storage pressure, and studies left incomplete', () => {
  /** An SCP over a fresh received dir whose storage gate answers `spaceAvailable` from the function given. */
  async function scpWith(spaceAvailable: () => boolean): Promise<{ scp: DimseStoreScp; port: number; store: ReceivedStore; root: string }> {
    const root = mkdtempSync(path.join(tmpdir(), 'scp-space-'));
    const store = new ReceivedStore(root, { maxInstanceBytes: 64 * 1024 * 1024, logger: silentLogger });
    await store.init();
    const storage: SpaceGate = { spaceAvailable, reportNoSpace: () => undefined, retryAfterSeconds: () => 10, reason: () => 'low' };
    const scp = new DimseStoreScp({ port: 0, aeTitle: 'CLINICALAI', allowedCallingAeTitles: [], transferSyntaxes: DEFAULT_STORE_TRANSFER_SYNTAXES, store, storage, logger: silentLogger });
    return { scp, port: await scp.start(), store, root };
  }
  const dcmFiles = (root: string): string[] => readdirSync(root, { recursive: true }).map(String).filter((f) => f.endsWith('.dcm'));
  const studyOf = (file: string): string => str(readPart10(readFileSync(file)).dataset, 'StudyInstanceUID') as string;
  const waitForMark = async (store: ReceivedStore, study: string): Promise<string | undefined> => {
    const deadline = Date.now() + 5000;
    while (!store.incompleteMark(study) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return store.incompleteMark(study)?.reason;
  };

  it('when under pressure, then the association is accepted, C-ECHO works and every C-STORE gets A700 (out of resources) with nothing written', async () => {
    const { scp, port, root } = await scpWith(() => false);
    try {
      expect((await dcmtk('echoscu', ['-aec', 'CLINICALAI', '127.0.0.1', String(port)])).code).toBe(0);
      const r = await dcmtk('storescu', ['-v', '-nh', '-aec', 'CLINICALAI', '127.0.0.1', String(port), samplePath(30), samplePath(31), samplePath(32)]);
      expect(r.output).toContain('Association Accepted');
      expect(r.output.match(/Received Store Response \(Refused: OutOfResources\)/g)).toHaveLength(3);
      expect(dcmFiles(root)).toHaveLength(0);
      expect(readdirSync(path.join(root, '.incoming'))).toHaveLength(0);
    } finally {
      await scp.stop(1000);
    }
  });

  it('when space runs out mid-association, then the later instances get A700 and the study it stored into is marked incomplete', async () => {
    let asked = 0;
    const { scp, port, store } = await scpWith(() => asked++ < 2);
    try {
      const r = await dcmtk('storescu', ['-v', '-nh', '-aec', 'CLINICALAI', '127.0.0.1', String(port), ...[33, 34, 35, 36].map(samplePath)]);
      expect(r.output.match(/Received Store Response \(Success\)/g)).toHaveLength(2);
      expect(r.output.match(/Refused: OutOfResources/g)).toHaveLength(2);
      expect(await waitForMark(store, studyOf(samplePath(33)))).toBe('2 instances of a C-STORE association were not stored (out of resources); re-send the study');
      // The sender re-sends only the two that failed, in a clean association: the mark goes.
      asked = -10;
      expect((await dcmtk('storescu', ['-aec', 'CLINICALAI', '127.0.0.1', String(port), samplePath(35), samplePath(36)])).code).toBe(0);
      const deadline = Date.now() + 5000;
      while (store.incompleteMark(studyOf(samplePath(33))) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      expect(store.incompleteMark(studyOf(samplePath(33)))).toBeUndefined();
    } finally {
      await scp.stop(1000);
    }
  });

  it('when the sender aborts the association instead of releasing it, then the study it stored into is marked incomplete', async () => {
    const { scp, port, store } = await scpWith(() => true);
    try {
      await dcmtk('storescu', ['--abort', '-aec', 'CLINICALAI', '127.0.0.1', String(port), samplePath(37), samplePath(38)]);
      expect(await waitForMark(store, studyOf(samplePath(37)))).toBe('a C-STORE association was aborted; re-send the study');
    } finally {
      await scp.stop(1000);
    }
  });
});

describe('C-STORE peers: calling AE title and the address it calls from (dimse.peers)', () => {
  /** A fresh SCP with the given peer policy; its log lines are kept for the assertions on the rejection reason. */
  async function scpWith(options: Partial<ConstructorParameters<typeof DimseStoreScp>[0]>): Promise<{ scp: DimseStoreScp; port: number; root: string; lines: string[] }> {
    const root = mkdtempSync(path.join(tmpdir(), 'scp-peers-'));
    const store = new ReceivedStore(root, { maxInstanceBytes: 64 * 1024 * 1024, logger: silentLogger });
    await store.init();
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    const scp = new DimseStoreScp({ port: 0, aeTitle: 'CLINICALAI', allowedCallingAeTitles: [], transferSyntaxes: DEFAULT_STORE_TRANSFER_SYNTAXES, store, logger, ...options });
    return { scp, port: await scp.start(), root, lines };
  }
  const dcmFiles = (root: string): string[] => readdirSync(root, { recursive: true }).map(String).filter((f) => f.endsWith('.dcm'));
  const send = (aet: string, port: number, host = '127.0.0.1'): Promise<{ code: number; output: string }> => dcmtk('storescu', ['-aet', aet, '-aec', 'CLINICALAI', host, String(port), samplePath(7)]);

  it('when a listed AE calls from an address listed for it (address, CIDR range or host name), then the instance is stored', async () => {
    const { scp, port, root } = await scpWith({ peers: [{ aeTitle: 'CT01', hosts: ['127.0.0.1'] }, { aeTitle: 'MR01', hosts: ['10.0.0.0/8', '127.0.0.0/8'] }, { aeTitle: 'US01', hosts: ['localhost'] }] });
    try {
      for (const aet of ['CT01', 'MR01', 'US01']) expect(await send(aet, port)).toMatchObject({ code: 0 });
      expect(dcmFiles(root)).toHaveLength(1); // the same instance three times: kept once
      expect((await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'CLINICALAI', '127.0.0.1', String(port)])).code).toBe(0);
    } finally {
      await scp.stop(1000);
    }
  });

  it('when an AE that is not listed calls, then the association is rejected (calling AE not recognized) and nothing is kept', async () => {
    const { scp, port, root, lines } = await scpWith({ peers: [{ aeTitle: 'CT01', hosts: ['*'] }] });
    try {
      const r = await send('INTRUDER', port);
      expect(r.code).not.toBe(0);
      expect(r.output).toMatch(/Association Rejected/i);
      expect(r.output).toMatch(/Calling AE Title Not Recognized/i);
      expect((await dcmtk('echoscu', ['-aet', 'INTRUDER', '-aec', 'CLINICALAI', '127.0.0.1', String(port)])).code).not.toBe(0);
      expect(dcmFiles(root)).toHaveLength(0);
      expect(lines.some((l) => l.includes('calling AE title not in dimse.peers'))).toBe(true);
    } finally {
      await scp.stop(1000);
    }
  });

  it('when a listed AE calls from an address not allowed for it, then the association is rejected and nothing is kept, while the same AE from its address is accepted', async () => {
    // On Linux the client's source address towards 127.0.0.x is 127.0.0.1: CT01 may call from 127.0.0.2 only.
    const { scp, port, root, lines } = await scpWith({ peers: [{ aeTitle: 'CT01', hosts: ['127.0.0.2', '192.0.2.0/24', 'host.invalid'] }, { aeTitle: 'MR01', hosts: ['127.0.0.1'] }] });
    try {
      const r = await send('CT01', port);
      expect(r.code).not.toBe(0);
      expect(r.output).toMatch(/Calling AE Title Not Recognized/i);
      expect(dcmFiles(root)).toHaveLength(0);
      expect(lines.some((l) => l.includes('not allowed from this address') && l.includes('"peerAddress":"127.0.0.1"'))).toBe(true);
      expect((await send('MR01', port)).code).toBe(0);
      expect(dcmFiles(root)).toHaveLength(1);
    } finally {
      await scp.stop(1000);
    }
  });

  it('when the SCP listens on every interface, then an AE is accepted from the address listed for it and rejected from loopback', async () => {
    const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (!external) return console.warn('no non-loopback IPv4 address here: only the loopback cases ran');
    const { scp, port, root } = await scpWith({ host: '0.0.0.0', peers: [{ aeTitle: 'CT01', hosts: [external.address] }] });
    try {
      // Connecting to our own external address makes it the source address too.
      expect((await send('CT01', port, '127.0.0.1')).output).toMatch(/Calling AE Title Not Recognized/i);
      expect(dcmFiles(root)).toHaveLength(0);
      expect((await send('CT01', port, external.address)).code).toBe(0);
      expect(dcmFiles(root)).toHaveLength(1);
    } finally {
      await scp.stop(1000);
    }
  });

  it('when allowedCallingAeTitles lists an AE, then it is accepted from any address and others are not', async () => {
    const { scp, port } = await scpWith({ allowedCallingAeTitles: ['OLDSTYLE'] });
    try {
      expect((await send('OLDSTYLE', port)).code).toBe(0);
      expect((await send('OTHER', port)).output).toMatch(/Calling AE Title Not Recognized/i);
    } finally {
      await scp.stop(1000);
    }
  });

  it('when no peers are listed, then the listener binds loopback only by default, refuses a non-loopback address, and allowAnyCaller allows it with a warning', async () => {
    const { scp, port, lines } = await scpWith({});
    try {
      expect(lines.some((l) => l.includes('"host":"127.0.0.1"') && l.includes('SCP listening'))).toBe(true);
      expect((await send('ANYONE', port)).code).toBe(0);
      // Not reachable on this machine's other addresses (where it has one).
      const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
      if (external) expect((await send('ANYONE', port, external.address)).output).toMatch(/connection refused|Failed to establish association/i);
    } finally {
      await scp.stop(1000);
    }
    const base = { port: 0, aeTitle: 'CLINICALAI', allowedCallingAeTitles: [], transferSyntaxes: DEFAULT_STORE_TRANSFER_SYNTAXES, store: new ReceivedStore(tmpdir(), { maxInstanceBytes: 1024, logger: silentLogger }), logger: silentLogger };
    expect(() => new DimseStoreScp({ ...base, host: '0.0.0.0' })).toThrow(/dimse\.peers.*dimse\.allowAnyCaller: true/s);
    expect(() => new DimseStoreScp({ ...base, host: '0.0.0.0', peers: [{ aeTitle: 'CT01', hosts: ['10.0.0.0/33'] }] })).toThrow(/not a valid CIDR range/);
    const open = await scpWith({ host: '0.0.0.0', allowAnyCaller: true });
    try {
      expect(open.lines.some((l) => l.includes('"level":40') && l.includes('dimse.allowAnyCaller'))).toBe(true);
      expect((await send('ANYONE', open.port)).code).toBe(0);
    } finally {
      await open.scp.stop(1000);
    }
  });
});
