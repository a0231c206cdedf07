/**
 * The examples in docs/routing.md are real: the ```json select block passes the manifest schema and load checks,
 * the ```json routes block passes the route-rule checks and behaves as the text says.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedModel, SeriesSelection } from '../domain/manifest';
import type { SeriesInfo, StudyInfo } from '../domain/study';
import { manifestProblems } from '../models/registry';
import { routeRulesProblems, type RouteRule } from './route-rules';
import { routeStudy } from './route-study';

const DOC = readFileSync(path.resolve(__dirname, '../../docs/routing.md'), 'utf8');

function block(info: string): string {
  const m = new RegExp('^```' + info + '[ \\t]*\\n([\\s\\S]*?)^```[ \\t]*$', 'm').exec(DOC);
  if (!m) throw new Error(`docs/routing.md has no \`\`\`${info} block`);
  return m[1] ?? '';
}

describe('docs/routing.md examples', () => {
  const base = JSON.parse(readFileSync(path.resolve(__dirname, '../../models/brain-mask-2d/manifest.json'), 'utf8')) as Record<string, unknown>;

  it('when the documented select block is put in a manifest, then the schema and load checks accept it', () => {
    expect(manifestProblems({ ...base, select: JSON.parse(block('json select')) })).toEqual({ valid: true, problems: [] });
  });

  it('when the documented route rules are checked and applied, then they do what the text says', () => {
    const rules = JSON.parse(block('json routes')) as RouteRule[];
    expect(routeRulesProblems(rules)).toEqual([]);
    const series = (uid: string, imageType: string[]): SeriesInfo => ({
      seriesInstanceUid: uid,
      modality: 'MR',
      imageType,
      instances: Array.from({ length: 20 }, (_, i) => ({ sopInstanceUid: `${uid}.${i}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.4' })),
    });
    const study: StudyInfo = { studyInstanceUid: '1.2', studyDescription: 'MR BRAIN', series: [series('derived', ['DERIVED', 'SECONDARY'])] };
    const select: SeriesSelection = { modality: ['MR'] };
    const models = ['brain-mask-2d', 'other'].map((id) => ({ manifest: { id, version: '1', select }, modelPath: '', digest: '0'.repeat(64) }) as unknown as LoadedModel);
    const fires = (s: StudyInfo, callingAeTitle?: string): Record<string, boolean> =>
      Object.fromEntries(
        routeStudy({ studyInstanceUid: '1.2', source: 'dimse', receivedAt: '', ...(callingAeTitle ? { callingAeTitle } : {}) }, s, models, rules).map((d) => [d.modelId, d.jobs.length > 0]),
      );
    // From MR1 the brain mask runs (its first rule decides, so the derived series stays acceptable to it);
    // the other model falls to "original images only" and refuses the derived series.
    expect(fires(study, 'MR1')).toEqual({ 'brain-mask-2d': true, other: false });
    expect(fires(study, 'CT2')).toEqual({ 'brain-mask-2d': false, other: false });
    expect(fires({ ...study, series: [series('original', ['ORIGINAL', 'PRIMARY'])] }, 'CT2')).toEqual({ 'brain-mask-2d': false, other: true });
    expect(fires({ ...study, studyDescription: 'Research protocol 7', series: [series('original', ['ORIGINAL', 'PRIMARY'])] }, 'MR1')).toEqual({ 'brain-mask-2d': false, other: false });
  });
});
