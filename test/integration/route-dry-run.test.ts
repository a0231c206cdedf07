/**
 * The routing dry-run through its two front doors: POST /route/dry-run on the real express app (supertest) and
 * `clinical-ai route` on the bundled sample study. Both must give the same report.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { FolderImagingSource } from '../../adapters/folder/folder-imaging-source';
import { FolderIndex } from '../../adapters/folder/folder-index';
import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import { SourceRouter } from '../../adapters/push/source-router';
import { main } from '../../src/cli';
import type { LoadedModel } from '../../src/domain/manifest';
import type { SeriesInfo, StudyInfo } from '../../src/domain/study';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logging';
import type { DryRunReport } from '../../src/routing/dry-run';
import type { RouteRule } from '../../src/routing/route-rules';
import { loadAllModels } from '../../src/service';

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE = path.join(ROOT, 'test', 'fixtures', 'sample-mr', 'dicom');
const MODELS = path.join(ROOT, 'models');
const MR = '1.2.840.10008.5.1.4.1.1.4';

/** Runs the CLI in this process (the same main() bin/clinical-ai.js calls) and captures its output. */
async function cli(args: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void stdout.push(a.join(' ')));
  const err = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void stderr.push(a.join(' ')));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

function configFile(content: unknown): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'route-cfg-')), 'config.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

function series(uid: string, n: number, over: Partial<SeriesInfo> = {}): SeriesInfo {
  return {
    seriesInstanceUid: uid,
    modality: 'MR',
    instances: Array.from({ length: n }, (_, i) => ({
      sopInstanceUid: `${uid}.${i + 1}`,
      sopClassUid: MR,
      imageOrientationPatient: [1, 0, 0, 0, 1, 0],
      imagePositionPatient: [0, 0, i],
    })),
    ...over,
  };
}

describe('routing dry-run', () => {
  let models: LoadedModel[];
  let sampleUid: string;
  const routes: RouteRule[] = [{ name: 'classifier only from MR1', models: ['mr-plane-classifier'], when: { CallingAETitle: '!MR1' }, enabled: false }];
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    models = await loadAllModels(MODELS);
    const index = new FolderIndex(SAMPLE);
    await index.scan();
    sampleUid = index.studyUids()[0] as string;
    app = createApp({ jobs: new MemoryJobStore(), fhir: null, readiness: [], logger: createLogger({ level: 'silent' }), models, routes, source: new FolderImagingSource(index) });
  });

  it('when a known study UID is posted, then each model says whether it fires, on which series, with verdict facts', async () => {
    const res = await request(app).post('/route/dry-run').send({ studyInstanceUid: sampleUid, event: { callingAeTitle: 'MR1' } });
    expect(res.status).toBe(200);
    const report = res.body as DryRunReport;
    expect(report.studyInstanceUid).toBe(sampleUid);
    expect(report.models.map((m) => [m.model, m.fires])).toEqual([
      ['brain-mask-2d', true],
      ['mr-plane-classifier', true],
    ]);
    const brain = report.models[0];
    expect(brain?.series).toHaveLength(1);
    expect(brain?.reasons).toEqual([]);
    expect(brain?.verdicts).toEqual([
      expect.objectContaining({ seriesInstanceUid: brain?.series[0], accepted: true, chosen: true, reasons: [], modality: 'MR', slices: 91, sliceThickness: 2, orientation: 'axial' }),
    ]);
    // The rule's when (CallingAETitle !MR1) does not hold for MR1, so no rule decided.
    expect(report.models[1]).not.toHaveProperty('rule');
  });

  it('when a route rule disables a model for the calling AE, then the model does not fire and the reason names the rule', async () => {
    const res = await request(app).post('/route/dry-run').send({ studyInstanceUid: sampleUid, event: { source: 'cstore', callingAeTitle: 'CT7' } });
    expect(res.status).toBe(200);
    const classifier = (res.body as DryRunReport).models.find((m) => m.model === 'mr-plane-classifier');
    expect(classifier).toMatchObject({ fires: false, series: [], rule: 'classifier only from MR1', reasons: ['disabled for this study by route rule "classifier only from MR1"'] });
  });

  it('when a study with a localizer and two candidate series is posted as JSON, then the series with most slices is chosen and the others say why not', async () => {
    const study: StudyInfo = {
      studyInstanceUid: '1.2.826.0.1.3680043.99.1',
      series: [
        series('1.2.826.0.1.3680043.99.1.1', 3, { seriesNumber: 1, seriesDescription: 'localizer', imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] }),
        series('1.2.826.0.1.3680043.99.1.2', 40, { seriesNumber: 2, seriesDescription: 'T1 thick' }),
        series('1.2.826.0.1.3680043.99.1.3', 120, { seriesNumber: 3, seriesDescription: 'T1 thin' }),
      ],
    };
    const res = await request(app).post('/route/dry-run').send({ study });
    expect(res.status).toBe(200);
    const brain = (res.body as DryRunReport).models.find((m) => m.model === 'brain-mask-2d');
    expect(brain?.series).toEqual(['1.2.826.0.1.3680043.99.1.3']);
    expect(brain?.verdicts.map((v) => [v.seriesNumber, v.accepted, v.chosen, v.reasons])).toEqual([
      [1, false, false, ['series is a localizer (ImageType LOCALIZER)', '3 slices < minimum 16']],
      [2, true, false, []],
      [3, true, true, []],
    ]);
  });

  it('when the study arrived by push, then the event source sends the lookup to the received files', async () => {
    const empty = new FolderIndex(mkdtempSync(path.join(tmpdir(), 'route-pacs-')));
    const received = new FolderIndex(SAMPLE);
    await received.scan();
    const router = new SourceRouter(new FolderImagingSource(empty), new Map([['stow', new FolderImagingSource(received)]]));
    const pushApp = createApp({ jobs: new MemoryJobStore(), fhir: null, readiness: [], logger: createLogger({ level: 'silent' }), models, source: router });
    expect((await request(pushApp).post('/route/dry-run').send({ studyInstanceUid: sampleUid })).status).toBe(404);
    const res = await request(pushApp).post('/route/dry-run').send({ studyInstanceUid: sampleUid, event: { source: 'stow' } });
    expect(res.status).toBe(200);
    expect((res.body as DryRunReport).models.every((m) => m.fires)).toBe(true);
  });

  it('when the study UID is unknown, then the answer is 404', async () => {
    const res = await request(app).post('/route/dry-run').send({ studyInstanceUid: '1.2.3.4.5.6.7' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });

  it.each<[string, string | object, RegExp]>([
    ['the body is not JSON', '{"studyInstanceUid": ', /not valid JSON/],
    ['the body is empty', {}, /exactly one of "studyInstanceUid".*or "study"/],
    ['both forms are given', { studyInstanceUid: '1.2', study: { studyInstanceUid: '1.2', series: [] } }, /exactly one/],
    ['the UID is not a UID', { studyInstanceUid: 'abc' }, /body\.studyInstanceUid must match pattern/],
    ['the study has no series list', { study: { studyInstanceUid: '1.2' } }, /body\.study must have required property 'series'/],
    ['an instance lacks its SOP class', { study: { studyInstanceUid: '1.2', series: [{ seriesInstanceUid: '1.2.1', modality: 'MR', instances: [{ sopInstanceUid: '1.2.1.1' }] }] } }, /body\.study\.series\.0\.instances\.0 must have required property 'sopClassUid'/],
    ['an unknown top-level key', { studyUid: '1.2' }, /body has unknown property "studyUid"/],
  ])('when %s, then the answer is 400 with a clear message', async (_name, body, message) => {
    const req = request(app).post('/route/dry-run').set('Content-Type', 'application/json');
    const res = await req.send(typeof body === 'string' ? body : JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
    expect(res.body.error.message).toMatch(message);
  });

  it('when the CLI routes the sample folder, then it prints the same report as the HTTP endpoint', async () => {
    const config = configFile({ routes });
    const r = await cli(['route', '--input', SAMPLE, '--models', MODELS, '--config', config, '--calling-ae', 'MR1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toHaveLength(1);
    const fromCli = JSON.parse(r.stdout[0] as string) as DryRunReport;
    const fromHttp = (await request(app).post('/route/dry-run').send({ studyInstanceUid: sampleUid, event: { source: 'cli', callingAeTitle: 'MR1' } })).body as DryRunReport;
    expect(fromCli).toEqual(fromHttp);
    expect(fromCli.models.every((m) => m.fires)).toBe(true);
  });

  it('when the CLI config has a rule overriding the selection, then the verdicts follow it', async () => {
    const config = configFile({ routes: [{ name: 'sagittal only', models: ['brain-mask-2d'], select: { orientation: 'sagittal' } }] });
    const r = await cli(['route', '--input', SAMPLE, '--models', MODELS, '--config', config]);
    const brain = (JSON.parse(r.stdout[0] as string) as DryRunReport).models.find((m) => m.model === 'brain-mask-2d');
    expect(brain).toMatchObject({ fires: false, rule: 'sagittal only', reasons: ['no series is accepted'] });
    expect(brain?.verdicts[0]?.reasons).toEqual(['orientation axial is not sagittal']);
  });

  it('when the CLI config has a malformed route rule, then it exits 1 naming the path', async () => {
    const config = configFile({ routes: [{ name: 'bad', when: { StudyDescription: { regex: 'a(' } } }] });
    const r = await cli(['route', '--input', SAMPLE, '--models', MODELS, '--config', config]);
    expect(r.code).toBe(1);
    expect(r.stderr.join('\n')).toMatch(/routes\/0\/when\/StudyDescription\/regex not a valid regular expression/);
  });

  it('when a route rule names a model that is not loaded, then the CLI refuses the configuration', async () => {
    const config = configFile({ routes: [{ name: 'typo', models: ['brain-mask-3d'], enabled: false }] });
    const r = await cli(['route', '--input', SAMPLE, '--models', MODELS, '--config', config]);
    expect(r.code).toBe(1);
    expect(r.stderr.join('\n')).toMatch(/routes\/0\/models names "brain-mask-3d", which is not a loaded model/);
  });
});
