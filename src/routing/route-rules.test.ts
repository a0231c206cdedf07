import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import type { LoadedModel, SeriesSelection } from '../domain/manifest';
import { createLogger } from '../logging';
import { onStudyEvent } from '../pipeline/on-study-event';
import type { SeriesInfo, StudyEvent, StudyInfo } from '../domain/study';
import { routeRulesProblems, unknownModelProblems, type RouteRule } from './route-rules';
import { routeStudy } from './route-study';

const MR = '1.2.840.10008.5.1.4.1.1.4';
function series(uid: string, n: number, over: Partial<SeriesInfo> = {}): SeriesInfo {
  return { seriesInstanceUid: uid, modality: 'MR', instances: Array.from({ length: n }, (_, i) => ({ sopInstanceUid: `${uid}.${i}`, sopClassUid: MR })), ...over };
}
function model(id: string, select: SeriesSelection): LoadedModel {
  return { manifest: { id, version: '1.0.0', select } as LoadedModel['manifest'], modelPath: `/m/${id}.onnx`, digest: id.padEnd(64, '0') };
}
const study: StudyInfo = { studyInstanceUid: '1.2.3', studyDescription: 'MRI BRAIN', series: [series('s1', 40, { sliceThickness: 3 }), series('s2', 20, { sliceThickness: 1 })] };
const event = (over: Partial<StudyEvent> = {}): StudyEvent => ({ studyInstanceUid: '1.2.3', source: 'cstore', receivedAt: '2026-01-01T00:00:00Z', ...over });
const models = [model('brain', { modality: ['MR'] }), model('knee', { modality: ['MR'] })];
const fired = (rules: RouteRule[], e = event()) => Object.fromEntries(routeStudy(e, study, models, rules).map((d) => [d.modelId, d.jobs.map((j) => j.seriesInstanceUid)]));

describe('route rules from the configuration', () => {
  it('when no rule applies, then every model uses its manifest', () => {
    expect(fired([])).toEqual({ brain: ['s1'], knee: ['s1'] });
  });

  it('when a rule disables a model for matching studies, then only that model stops and the reason names the rule', () => {
    const rules: RouteRule[] = [{ name: 'no knee on brain studies', models: ['knee'], when: { StudyDescription: { regex: 'brain' } }, enabled: false }];
    expect(fired(rules)).toEqual({ brain: ['s1'], knee: [] });
    const knee = routeStudy(event(), study, models, rules).find((d) => d.modelId === 'knee');
    expect(knee?.reasons).toEqual(['disabled for this study by route rule "no knee on brain studies"']);
    expect(knee?.rule).toBe('no knee on brain studies');
  });

  it('when rules restrict a model to one calling AE, then the first matching rule decides', () => {
    const rules: RouteRule[] = [
      { name: 'brain from MR1', models: ['brain'], when: { CallingAETitle: 'MR1' } },
      { name: 'brain nowhere else', models: ['brain'], enabled: false },
    ];
    expect(fired(rules, event({ callingAeTitle: 'mr1' }))).toEqual({ brain: ['s1'], knee: ['s1'] });
    expect(fired(rules, event({ callingAeTitle: 'CT7' }))).toEqual({ brain: [], knee: ['s1'] });
    expect(fired(rules, event({ source: 'orthanc' }))).toEqual({ brain: [], knee: ['s1'] });
  });

  it('when a rule overrides select keys, then they replace the manifest keys for the named models only', () => {
    const rules: RouteRule[] = [{ name: 'thin and all', models: ['brain'], select: { prefer: 'thinnest-slices', matches: 'all' } }];
    expect(fired(rules)).toEqual({ brain: ['s2', 's1'], knee: ['s1'] });
  });

  it('when a rule turns an exclusion on, then the manifest exclusion flags are kept and merged', () => {
    const derived: StudyInfo = { studyInstanceUid: '1.2.4', series: [series('d', 30, { imageType: ['DERIVED', 'SECONDARY', 'LOCALIZER'] })] };
    const m = [model('brain', { modality: ['MR'], exclude: { localizer: false } })];
    const rules: RouteRule[] = [{ name: 'no derived', select: { exclude: { derived: true } } }];
    expect(routeStudy(event(), derived, m, [])[0]?.jobs).toHaveLength(1);
    const d = routeStudy(event(), derived, m, rules)[0];
    expect(d?.jobs).toHaveLength(0);
    expect(d?.verdicts[0]?.reasons).toEqual(['series is derived (ImageType DERIVED)']);
  });

  it('when matches is all, then each series gets its own job with its own idempotency key', () => {
    const [d] = routeStudy(event(), study, [model('brain', { modality: ['MR'], matches: 'all' })]);
    expect(d?.jobs.map((j) => j.seriesInstanceUid)).toEqual(['s1', 's2']);
    expect(new Set(d?.jobs.map((j) => j.idempotencyKey)).size).toBe(2);
    expect(d?.job).toBe(d?.jobs[0]);
  });

  it('when a rule asks for all matches, then a study event enqueues one job per accepted series', async () => {
    const jobs = new MemoryJobStore();
    // An in-memory source holding the one study (the port's contract: getStudy by UID); routing refuses invalid UIDs.
    const valid: StudyInfo = { ...study, series: [series('1.2.3.1', 40, { sliceThickness: 3 }), series('1.2.3.2', 20, { sliceThickness: 1 })] };
    const source = { getStudy: async () => valid, retrieveInstances: async () => [], ping: async () => undefined };
    const rules: RouteRule[] = [{ name: 'all', models: ['brain'], select: { matches: 'all' } }];
    const outcome = await onStudyEvent(event(), { source, jobs, models, logger: createLogger({ level: 'silent' }), routes: rules });
    expect(outcome.created).toBe(3);
    expect((await jobs.list({ limit: 10 })).map((j) => `${j.modelId}:${j.seriesInstanceUid}`).sort()).toEqual(['brain:1.2.3.1', 'brain:1.2.3.2', 'knee:1.2.3.1']);
    expect((await onStudyEvent(event(), { source, jobs, models, logger: createLogger({ level: 'silent' }), routes: rules })).created).toBe(0);
  });

  it('when route rules are valid, then no problem is reported', () => {
    expect(routeRulesProblems([{ name: 'a', models: ['brain'], when: { Source: ['stow', 'cstore'], NumberOfSeries: '>= 2' }, enabled: true, select: { orientation: 'axial' } }])).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ['routes is not a list', { name: 'x' }, 'routes must be array'],
    ['a rule has no name', [{ enabled: false }], "routes/0 must have required property 'name'"],
    ['a rule has an unknown key', [{ name: 'x', disable: true }], 'routes/0 has unknown property "disable"'],
    ['a when attribute is unknown', [{ name: 'x', when: { Station: 'A' } }], 'routes/0/when has unknown property "Station"'],
    ['a select key is malformed', [{ name: 'x', select: { series: { SliceThickness: '<<1' } } }], 'routes/0/select/series/SliceThickness must match pattern'],
    ['a when regex does not compile', [{ name: 'x', when: { StudyDescription: { regex: '[' } } }], 'routes/0/when/StudyDescription/regex not a valid regular expression'],
    ['two rules share a name', [{ name: 'x' }, { name: 'x' }], 'routes/1/name "x" is used by an earlier rule'],
  ])('when %s, then the problem names the path', (_name, json, message) => {
    expect(routeRulesProblems(json)).toContainEqual(expect.stringContaining(message));
  });

  it('when a rule names a model that is not loaded, then that is reported', () => {
    expect(unknownModelProblems([{ name: 'x', models: ['brain', 'brian'] }], ['brain', 'knee'])).toEqual(['routes/0/models names "brian", which is not a loaded model']);
  });
});
