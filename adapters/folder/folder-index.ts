import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { NaturalDataset } from 'dcmjs';
import { num, nums, readPart10, str, strs } from '../../src/dicom/part10';
import { AppError, toAppError } from '../../src/domain/errors';
import { expectedInstancesFrom, type AcquisitionHint } from '../../src/domain/settling';
import type { InstanceInfo, Orientation6, SeriesInfo, StudyInfo, Vec3 } from '../../src/domain/study';
import type { DicomVetter } from '../../src/ports/dicom-vetting';

/** A file that could not be used, with a reason safe to print (no header values, no path). */
export interface FileProblem {
  /** The full path: may carry patient names in folder or file names, so never logged or printed by default. */
  file: string;
  /** 1-based position among the files of the last scan, in path order (LC_ALL=C sort of the paths). */
  fileIndex: number;
  /** First 12 hex digits of the sha256 of the path relative to the root: a stable handle safe to print and log. */
  fileRef: string;
  code: string;
  message: string;
}

/** Stable handle of a file below a root: the sha256 prefix of its relative path (POSIX separators). */
export function fileRefOf(root: string, file: string): string {
  return createHash('sha256').update(path.relative(root, file).split(path.sep).join('/')).digest('hex').slice(0, 12);
}

/**
 * Node's fs errors put the path in their message ("ENOENT: no such file or directory, open '/in/DOE^JANE/1.dcm'");
 * keep only the errno code so neither job records, logs nor CLI lines carry it.
 */
export function withoutPath(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (err instanceof Error && !(err instanceof AppError) && typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return new AppError(code === 'ENOENT' ? 'NOT_FOUND' : 'INTERNAL', `${what} (${code})`);
  }
  return err;
}

interface IndexedInstance {
  file: string;
  studyUid: string;
  seriesUid: string;
  info: InstanceInfo;
  series: Omit<SeriesInfo, 'instances'>;
  study: Omit<StudyInfo, 'series'>;
  mtimeMs: number;
  /** Size of its acquisition, per its header (for the series' expected instance count). */
  hint: AcquisitionHint;
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

/**
 * Parses the whole file, not just the header: a file cut short in its pixel data must be reported here, per file,
 * rather than fail the whole study later. Only the header survives; the pixels are read again when a job runs.
 */
function readHeader(bytes: Uint8Array, maxBytes: number): NaturalDataset {
  return readPart10(bytes, { maxBytes }).dataset;
}

function required(ds: NaturalDataset, keyword: string): string {
  const v = str(ds, keyword);
  if (!v) throw new AppError('BAD_DICOM', `DICOM file has no ${keyword}`);
  return v;
}

function describe(ds: NaturalDataset, file: string, mtimeMs: number): IndexedInstance {
  const info: InstanceInfo = { sopInstanceUid: required(ds, 'SOPInstanceUID'), sopClassUid: required(ds, 'SOPClassUID') };
  const inst = num(ds, 'InstanceNumber');
  if (inst !== undefined) info.instanceNumber = inst;
  const ipp = nums(ds, 'ImagePositionPatient', 3);
  if (ipp) info.imagePositionPatient = ipp as Vec3;
  const iop = nums(ds, 'ImageOrientationPatient', 6);
  if (iop) info.imageOrientationPatient = iop as Orientation6;
  const frames = num(ds, 'NumberOfFrames');
  if (frames !== undefined) info.numberOfFrames = frames;
  const rows = num(ds, 'Rows');
  if (rows !== undefined) info.rows = rows;
  const columns = num(ds, 'Columns');
  if (columns !== undefined) info.columns = columns;
  const series: Omit<SeriesInfo, 'instances'> = { seriesInstanceUid: required(ds, 'SeriesInstanceUID'), modality: str(ds, 'Modality') ?? '' };
  const sn = num(ds, 'SeriesNumber');
  if (sn !== undefined) series.seriesNumber = sn;
  const sd = str(ds, 'SeriesDescription');
  if (sd) series.seriesDescription = sd;
  const bp = str(ds, 'BodyPartExamined');
  if (bp) series.bodyPartExamined = bp;
  const it = strs(ds, 'ImageType');
  if (it) series.imageType = it;
  // Attributes the routing language can test (docs/routing.md).
  for (const [keyword, key] of [
    ['ProtocolName', 'protocolName'],
    ['Manufacturer', 'manufacturer'],
    ['ManufacturerModelName', 'manufacturerModelName'],
    ['StationName', 'stationName'],
    ['ContrastBolusAgent', 'contrastBolusAgent'],
  ] as const) {
    const v = str(ds, keyword);
    if (v) series[key] = v;
  }
  const thickness = num(ds, 'SliceThickness');
  if (thickness !== undefined) series.sliceThickness = thickness;
  const spacing = nums(ds, 'PixelSpacing', 2);
  if (spacing) series.pixelSpacing = spacing as [number, number];
  const study: Omit<StudyInfo, 'series'> = { studyInstanceUid: required(ds, 'StudyInstanceUID') };
  const pid = str(ds, 'PatientID');
  if (pid) study.patientId = pid;
  const studyDescription = str(ds, 'StudyDescription');
  if (studyDescription) study.studyDescription = studyDescription;
  const hint: AcquisitionHint = {};
  const images = num(ds, 'ImagesInAcquisition');
  if (images !== undefined) hint.imagesInAcquisition = images;
  const acquisition = str(ds, 'AcquisitionNumber') ?? num(ds, 'AcquisitionNumber')?.toString();
  if (acquisition !== undefined) hint.acquisitionNumber = acquisition;
  return { file, studyUid: study.studyInstanceUid, seriesUid: series.seriesInstanceUid, info, series, study, mtimeMs, hint };
}

/**
 * An index of the DICOM files under a folder (any names, any nesting). Unreadable files are kept as problems with
 * a reason instead of failing the scan. Rescanning only reads files it has not seen or that changed.
 */
export class FolderIndex {
  private readonly byFile = new Map<string, IndexedInstance>();
  private readonly problems = new Map<string, Omit<FileProblem, 'fileIndex' | 'fileRef'> & { mtimeMs: number }>();
  private scanned: string[] = [];

  constructor(
    readonly root: string,
    private readonly maxBytes = 512 * 1024 * 1024,
    /** Vets each new or changed file out of process before it is parsed here (docs/hostile-input.md). */
    private readonly vetter?: DicomVetter,
  ) {}

  /** Scans the folder; returns the files newly indexed in this scan. */
  async scan(): Promise<IndexedInstance[]> {
    const files: string[] = [];
    try {
      await walk(this.root, files);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw withoutPath(err, 'cannot list the folder');
    }
    this.scanned = [...files].sort();
    const present = new Set(files);
    for (const f of [...this.byFile.keys()]) if (!present.has(f)) this.byFile.delete(f);
    for (const f of [...this.problems.keys()]) if (!present.has(f)) this.problems.delete(f);
    const added: IndexedInstance[] = [];
    for (const file of files.sort()) {
      let st;
      try {
        st = await stat(file);
      } catch {
        continue; // removed between listing and stat
      }
      const known = this.byFile.get(file) ?? this.problems.get(file);
      if (known && known.mtimeMs === st.mtimeMs) continue;
      try {
        if (st.size > this.maxBytes) throw new AppError('TOO_LARGE', `file of ${st.size} bytes exceeds the limit of ${this.maxBytes}`);
        const verdict = await this.vetter?.vet({ path: file });
        if (verdict && !verdict.ok) throw new AppError(verdict.code, verdict.message);
        const entry = describe(readHeader(await readFile(file), this.maxBytes), file, st.mtimeMs);
        this.byFile.set(file, entry);
        this.problems.delete(file);
        added.push(entry);
      } catch (err) {
        const e = toAppError(withoutPath(err, 'cannot read the file'));
        this.byFile.delete(file);
        this.problems.set(file, { file, code: e.code, message: e.message, mtimeMs: st.mtimeMs });
      }
    }
    return added;
  }

  fileProblems(): FileProblem[] {
    const position = new Map(this.scanned.map((f, i) => [f, i + 1]));
    return [...this.problems.values()].map(({ file, code, message }) => ({ file, fileIndex: position.get(file) ?? 0, fileRef: fileRefOf(this.root, file), code, message }));
  }

  studyUids(): string[] {
    return [...new Set([...this.byFile.values()].map((e) => e.studyUid))].sort();
  }

  /** Newest modification time among a study's files (for quiet-period detection). */
  lastChangeMs(studyUid: string): number {
    let t = 0;
    for (const e of this.byFile.values()) if (e.studyUid === studyUid) t = Math.max(t, e.mtimeMs);
    return t;
  }

  filesOfStudy(studyUid: string): string[] {
    return [...this.byFile.values()].filter((e) => e.studyUid === studyUid).map((e) => e.file);
  }

  getStudy(studyUid: string): StudyInfo {
    const entries = [...this.byFile.values()].filter((e) => e.studyUid === studyUid);
    const first = entries[0];
    if (!first) throw new AppError('NOT_FOUND', 'study not found in the folder');
    const series = new Map<string, SeriesInfo>();
    const hints = new Map<string, AcquisitionHint[]>();
    const seen = new Set<string>();
    for (const e of entries) {
      // The same instance saved twice under two names counts once.
      if (seen.has(e.info.sopInstanceUid)) continue;
      seen.add(e.info.sopInstanceUid);
      let s = series.get(e.seriesUid);
      if (!s) {
        s = { ...e.series, instances: [] };
        series.set(e.seriesUid, s);
      }
      s.instances.push(e.info);
      hints.set(e.seriesUid, [...(hints.get(e.seriesUid) ?? []), e.hint]);
    }
    for (const s of series.values()) {
      const expected = expectedInstancesFrom(hints.get(s.seriesInstanceUid) ?? []);
      if (expected !== undefined) s.expectedInstances = expected;
    }
    return { ...first.study, series: [...series.values()] };
  }

  /** File path of each requested instance of a series; NOT_FOUND names how many are missing. */
  filesFor(studyUid: string, seriesUid: string, sopInstanceUids: readonly string[]): string[] {
    const bySop = new Map<string, string>();
    for (const e of this.byFile.values()) {
      if (e.studyUid === studyUid && e.seriesUid === seriesUid) bySop.set(e.info.sopInstanceUid, e.file);
    }
    const files = sopInstanceUids.map((u) => bySop.get(u));
    const missing = files.filter((f) => f === undefined).length;
    if (missing > 0) throw new AppError('NOT_FOUND', `${missing} of ${sopInstanceUids.length} instances are no longer in the folder`);
    return files as string[];
  }
}
