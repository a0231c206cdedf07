/**
 * Files that abort the DICOM parser (the fuzzer's regression fixtures) sent to the built service in its own process
 * by STOW-RS, by C-STORE (DCMTK storescu) and dropped in the folder inbox: the service stays up (/healthz answers
 * throughout), each file is refused and quarantined, and a restart neither crashes nor parses them again.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { QUARANTINED_MESSAGE } from '../../src/ports/dicom-vetting';
import { hostileFixtures } from '../support/hostile-dicom';
import { rawCStore } from '../support/raw-cstore';
import { freePort, startServiceProcess, waitFor, type ServiceProcess } from '../support/service-process';

const ROOT = path.join(__dirname, '..', '..');

/** The file meta of a Part 10 file, walked by hand (the data set after it may be anything). */
function fileMeta(file: Buffer): { sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string; end: number } {
  const found: Record<number, string> = {};
  let at = 132;
  while (at + 8 <= file.length && file.readUInt16LE(at) === 0x0002) {
    const elem = file.readUInt16LE(at + 2);
    const vr = file.toString('latin1', at + 4, at + 6);
    const long = ['OB', 'OW', 'UN', 'SQ', 'UT'].includes(vr);
    const len = long ? file.readUInt32LE(at + 8) : file.readUInt16LE(at + 6);
    const start = at + (long ? 12 : 8);
    found[elem] = file.toString('latin1', start, start + len).replace(/\0+$/, '');
    at = start + len;
  }
  return { sopClassUid: found[0x0002] ?? '', sopInstanceUid: found[0x0003] ?? '', transferSyntaxUid: found[0x0010] ?? '', end: at };
}

describe('hostile DICOM through the service process', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'hostile-data-'));
  const inbox = path.join(dataDir, 'inbox');
  const quarantineDir = path.join(dataDir, 'quarantine');
  const configFile = path.join(dataDir, 'config.json');
  const fixture = (prefix: string): string => {
    const f = hostileFixtures().find((x) => x.name.startsWith(prefix));
    if (!f) throw new Error(`no hostile fixture ${prefix}*`);
    return f.path;
  };
  // A file meta crasher for STOW-RS, a data set crasher for C-STORE (the SCU sends the data set alone), another for the inbox.
  const forStow = fixture('pydicom-sc-rgb-jpeg');
  const forDimse = fixture('sample-mr-');
  const forInbox = fixture('pydicom-sc-rgb-rle-truncated');
  const outputs: string[][] = [];
  let service: ServiceProcess;
  let dimsePort: number;
  let healthFailures = 0;
  let healthChecks = 0;
  let poller: NodeJS.Timeout | undefined;

  const start = (): Promise<ServiceProcess> =>
    startServiceProcess({ CLINICAL_AI_CONFIG: configFile, CLINICAL_AI_DATA_DIR: dataDir, CLINICAL_AI_MODELS_DIR: path.join(ROOT, 'models'), CLINICAL_AI_LOG_LEVEL: 'debug' });
  const sidecars = (): string[] => readdirSync(quarantineDir).filter((f) => f.endsWith('.json'));
  const watchHealth = (): void => {
    poller = setInterval(() => {
      healthChecks++;
      fetch(`${service.url}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => void (r.ok || healthFailures++),
        () => void healthFailures++,
      );
    }, 200);
  };

  beforeAll(async () => {
    dimsePort = await freePort();
    mkdirSync(inbox, { recursive: true });
    writeFileSync(
      configFile,
      JSON.stringify({
        inboxDir: inbox,
        inboxQuietMs: 200,
        push: { quietMs: 400, pollIntervalMs: 100 },
        dimse: { enabled: true, port: dimsePort, aeTitle: 'CLINICALAI', allowedCallingAeTitles: ['MODALITY1'] },
        // Short limits keep the test quick; each hostile file ends at one of them.
        limits: { parseTimeoutMs: 3000, parserMemoryMb: 256 },
      }),
    );
    service = await start();
    outputs.push(service.output);
    watchHealth();
  });

  afterAll(async () => {
    if (poller) clearInterval(poller);
    await service?.stop();
  });

  it('refuses a parser-crashing file sent by STOW-RS (409, failure reason 0xC000), quarantines it, and stays up', async () => {
    const boundary = 'hostile1';
    const body = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), readFileSync(forStow), Buffer.from(`\r\n--${boundary}--\r\n`)]);
    const res = await fetch(`${service.url}/dicomweb/studies`, { method: 'POST', headers: { 'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}` }, body });
    expect(res.status).toBe(409);
    const json = (await res.json()) as Record<string, { Value: Record<string, { Value: number[] }>[] }>;
    expect(json['00081198']?.Value[0]?.['00081197']?.Value[0]).toBe(0xc000);
    expect(res.headers.get('warning')).toContain(QUARANTINED_MESSAGE);
    expect(sidecars()).toHaveLength(1);
    expect((await fetch(`${service.url}/healthz`)).ok).toBe(true);
  });

  it('refuses the file sent by C-STORE with a failure status, quarantines it, and stays up', async () => {
    const file = readFileSync(forDimse);
    const meta = fileMeta(file);
    const r = await rawCStore({
      host: '127.0.0.1',
      port: dimsePort,
      callingAeTitle: 'MODALITY1',
      calledAeTitle: 'CLINICALAI',
      sopClassUid: meta.sopClassUid,
      sopInstanceUid: meta.sopInstanceUid,
      transferSyntaxUid: meta.transferSyntaxUid,
      dataset: file.subarray(meta.end),
    });
    // Refused: out of resources / cannot understand (Cxxx), never Success; the association itself worked.
    expect(r.status).toBe(0xc000);
    expect(sidecars()).toHaveLength(2);
    expect((await fetch(`${service.url}/healthz`)).ok).toBe(true);
  });

  it('skips the file dropped in the inbox, quarantines it, and stays up', async () => {
    copyFileSync(forInbox, path.join(inbox, 'dropped.dcm'));
    await waitFor('inbox file quarantined', async () => (sidecars().length === 3 ? true : undefined), 30_000);
    await waitFor('inbox skip logged', async () => (service.output.some((l) => l.includes('inbox file skipped') && l.includes(QUARANTINED_MESSAGE)) ? true : undefined), 10_000);
    expect((await fetch(`${service.url}/healthz`)).ok).toBe(true);
  });

  it('answered /healthz throughout, and a restart with the file still in the inbox neither crashes nor re-parses it', async () => {
    expect(healthChecks).toBeGreaterThan(10);
    expect(healthFailures).toBe(0);
    if (poller) clearInterval(poller);
    await service.stop();
    service = await start();
    outputs.push(service.output);
    watchHealth();
    await waitFor('inbox rescanned after restart', async () => (service.output.some((l) => l.includes('inbox file skipped')) ? true : undefined), 20_000);
    expect(service.output.find((l) => l.includes('inbox file skipped'))).toContain(QUARANTINED_MESSAGE);
    // Refused from the denylist: no vetting process ended on it this time.
    expect(service.output.filter((l) => l.includes('DICOM vetting process ended on a file'))).toEqual([]);
    expect(service.output.some((l) => l.includes('quarantined DICOM files are refused unparsed'))).toBe(true);
    expect(sidecars()).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 1000));
    expect(healthFailures).toBe(0);
    expect(service.child.exitCode).toBeNull();
  });

  it('logged no patient data from the sample-derived fixture and no file paths of the inbox', () => {
    const lines = outputs.flat().join('\n');
    expect(lines).toContain('DICOM file quarantined');
    expect(lines).not.toContain('CLINICAL-AI^DEMO');
    expect(lines).not.toContain('DEMO-0001');
    expect(lines).not.toContain('dropped.dcm');
  });
});
