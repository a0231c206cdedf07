import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildResultBundle } from '../../src/fhir/bundle';
import { classificationContext, segmentationContext } from '../../test/support/fhir-contexts';
import { FolderFhirSink } from './fhir-folder-sink';

describe('FolderFhirSink', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fhir-folder-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('when a bundle is written twice, then one <key prefix>.json holds it and reportsForStudy finds its report', async () => {
    const sink = new FolderFhirSink(join(dir, 'out'));
    await sink.ping();
    const ctx = segmentationContext();
    const bundle = buildResultBundle(ctx);
    const response = await sink.writeTransaction(ctx.idempotencyKey, bundle);
    await sink.writeTransaction(ctx.idempotencyKey, bundle);
    expect(response.entry).toHaveLength(bundle.entry?.length ?? 0);
    expect(await readdir(join(dir, 'out'))).toEqual([`${ctx.idempotencyKey.slice(0, 16)}.json`]);
    expect(JSON.parse(await readFile(join(dir, 'out', `${ctx.idempotencyKey.slice(0, 16)}.json`), 'utf8'))).toEqual(bundle);

    const other = classificationContext('1.2.3.999');
    await sink.writeTransaction(other.idempotencyKey, buildResultBundle(other));
    const found = await sink.reportsForStudy(ctx.study.studyInstanceUid);
    expect(found.reports.map((r) => r.identifier?.[0]?.value)).toEqual([ctx.idempotencyKey]);
    expect(found.observations).toHaveLength(2);
  });
});
