import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { IMPLEMENTATION, nums, readPart10, writePart10 } from '../../src/dicom/part10';
import { forbidInLogs, SYNTHETIC_PATIENT } from './log-capture';

const SAMPLE_DIR = path.join(__dirname, '..', 'fixtures', 'sample-mr', 'dicom');

export interface SampleStudy {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  /** Part 10 files in slice order. */
  files: Uint8Array[];
}

/** A UID under the 2.25 root from a name, so copies are the same across runs and distinct from each other. */
function uidFor(name: string): string {
  return `2.25.${BigInt(`0x${createHash('sha256').update(name).digest('hex').slice(0, 30)}`).toString(10)}`;
}

let sorted: Uint8Array[] | undefined;
function sampleSlices(): Uint8Array[] {
  sorted ??= readdirSync(SAMPLE_DIR)
    .filter((f) => f.endsWith('.dcm'))
    .map((f) => new Uint8Array(readFileSync(path.join(SAMPLE_DIR, f))))
    .sort((a, b) => (nums(readPart10(a).dataset, 'ImagePositionPatient', 3)?.[2] ?? 0) - (nums(readPart10(b).dataset, 'ImagePositionPatient', 3)?.[2] ?? 0));
  return sorted;
}

/**
 * A copy of the bundled sample MR study (Colin27) as a different study: new Study/Series/SOP Instance UIDs derived
 * from `name`, optionally only `slices` contiguous slices from the middle (fewer slices: faster tests; at least 16
 * for brain-mask-2d). The patient is SYNTHETIC_PATIENT (test/support/log-capture.ts), or renamed; its name, ID, birth
 * date are recorded as values no service log line may carry (UIDs in clear are caught by their form).
 */
export function sampleStudyCopy(name: string, options: { slices?: number; patientName?: string } = {}): SampleStudy {
  const all = sampleSlices();
  const n = Math.min(all.length, options.slices ?? all.length);
  const start = Math.floor((all.length - n) / 2);
  const studyInstanceUid = uidFor(`${name}/study`);
  const seriesInstanceUid = uidFor(`${name}/series`);
  const frameOfReferenceUid = uidFor(`${name}/frame`);
  const files = all.slice(start, start + n).map((bytes, i) => {
    const ds = readPart10(bytes).dataset;
    ds.StudyInstanceUID = studyInstanceUid;
    ds.SeriesInstanceUID = seriesInstanceUid;
    ds.SOPInstanceUID = uidFor(`${name}/instance/${i}`);
    ds.FrameOfReferenceUID = frameOfReferenceUid;
    ds.InstanceNumber = i + 1;
    ds.PatientName = options.patientName ?? SYNTHETIC_PATIENT.name;
    ds.PatientID = SYNTHETIC_PATIENT.id;
    ds.PatientBirthDate = SYNTHETIC_PATIENT.birthDate;
    return writePart10(ds, IMPLEMENTATION);
  });
  if (options.patientName) forbidInLogs('patient name', options.patientName);
  return { studyInstanceUid, seriesInstanceUid, files };
}

/** A STOW-RS request body (multipart/related; type="application/dicom") carrying the given Part 10 files. */
export function stowBody(files: readonly Uint8Array[], boundary = `b${Date.now()}`): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const f of files) chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), Buffer.from(f), Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}
