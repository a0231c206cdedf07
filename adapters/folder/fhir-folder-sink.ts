import { access, constants, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bundle, DiagnosticReport, ImagingStudy, Observation } from '@medplum/fhirtypes';
import { AppError } from '../../src/domain/errors';
import { studyIdentifier } from '../../src/fhir/identifiers';
import type { FhirSink, StudyReports } from '../../src/ports/fhir-sink';

/** Length of the idempotency-key prefix used as file name: 64 bits of a sha256, unique enough per folder. */
const KEY_PREFIX_LENGTH = 16;

export function bundleFileName(idempotencyKey: string): string {
  const prefix = idempotencyKey.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, KEY_PREFIX_LENGTH);
  if (!prefix) throw new AppError('BAD_REQUEST', 'idempotency key is empty');
  return `${prefix}.json`;
}

/**
 * Writes each job's transaction Bundle as `<dir>/<key prefix>.json` (for the CLI `run` command and demos).
 * The same key overwrites the same file (atomically: temp file + rename), mirroring ifNoneExist on a server.
 */
export class FolderFhirSink implements FhirSink {
  constructor(private readonly dir: string) {}

  async writeTransaction(idempotencyKey: string, bundle: Bundle): Promise<Bundle> {
    const file = join(this.dir, bundleFileName(idempotencyKey));
    try {
      await mkdir(this.dir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(bundle, null, 2)}\n`);
      await rename(tmp, file);
    } catch (err) {
      throw new AppError('FHIR_UNAVAILABLE', `cannot write FHIR bundle to ${file}: ${(err as Error).message}`, { cause: err });
    }
    return {
      resourceType: 'Bundle',
      type: 'transaction-response',
      entry: (bundle.entry ?? []).map((e) => ({ response: { status: '201 Created', location: e.fullUrl } })),
    };
  }

  /** Bundles in a folder are self-contained records of one job each: nothing outside them is updated. */
  async updateResource(): Promise<void> {}

  /** Reads every bundle in the folder and returns the reports (and their Observations) about this study. */
  async reportsForStudy(studyInstanceUid: string): Promise<StudyReports> {
    const wanted = studyIdentifier(studyInstanceUid).value;
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: StudyReports = { reports: [], observations: [] };
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const bundle = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as Bundle;
      const resources = (bundle.entry ?? []).map((e) => ({ fullUrl: e.fullUrl, resource: e.resource }));
      const study = resources.find((r) => r.resource?.resourceType === 'ImagingStudy');
      const ids = (study?.resource as ImagingStudy | undefined)?.identifier ?? [];
      if (!ids.some((i) => i.value === wanted)) continue;
      for (const { fullUrl, resource } of resources) {
        if (resource?.resourceType === 'DiagnosticReport') out.reports.push(resource as DiagnosticReport);
        const isResult = (bundle.entry ?? []).some(
          (e) => e.resource?.resourceType === 'DiagnosticReport' && e.resource.result?.some((r) => r.reference === fullUrl),
        );
        if (resource?.resourceType === 'Observation' && isResult) out.observations.push(resource as Observation);
      }
    }
    return out;
  }

  async ping(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      await access(this.dir, constants.W_OK);
    } catch (err) {
      throw new AppError('FHIR_UNAVAILABLE', `FHIR output folder ${this.dir} is not writable`, { cause: err });
    }
  }
}
