/**
 * SEG encoder against outside oracles (REFERENCE.md A): synthetic MR series are written as Part 10 files, a SEG is
 * built from them, written, read back and decoded, and checked against the geometry the masks were drawn in;
 * dciodvfy (A.13) and dcentvfy (A.3) judge the files.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NaturalDataset } from 'dcmjs';
import { CODES } from '../../src/domain/codes';
import type { SegmentDefinition } from '../../src/domain/manifest';
import type { Orientation6, Vec3 } from '../../src/domain/study';
import type { SliceSource } from '../../src/domain/volume';
import { IMPLEMENTATION, nums, num, readPart10, str, writePart10 } from '../../src/dicom/part10';
import {
  buildSegmentation,
  decodeFractional,
  decodeSegmentation,
  LABEL_MAP_SEGMENTATION_STORAGE_SOP_CLASS_UID,
  SEGMENTATION_STORAGE_SOP_CLASS_UID,
} from '../../src/dicom/seg';

const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';
const ROWS = 61;
const COLUMNS = 63;
const SLICES = 7;
const PIXEL_SPACING: [number, number] = [0.9, 1.1]; // [row spacing, column spacing]
const SLICE_SPACING = 2.5;

function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}
const TOOLS_PRESENT = hasTool('dciodvfy') && hasTool('dcentvfy');
if (!TOOLS_PRESENT) console.error('seg-encoder integration tests skipped: dciodvfy/dcentvfy (dicom3tools) not installed');
const describeWithTools = TOOLS_PRESENT ? describe : describe.skip;

const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const rowDir = (o: Orientation6): Vec3 => [o[0], o[1], o[2]];
const colDir = (o: Orientation6): Vec3 => [o[3], o[4], o[5]];

/** An oblique plane: axial rotated 20 degrees about x, then 15 degrees about z. */
function obliqueOrientation(): Orientation6 {
  const a = (20 * Math.PI) / 180;
  const b = (15 * Math.PI) / 180;
  const rotX = (v: Vec3): Vec3 => [v[0], v[1] * Math.cos(a) - v[2] * Math.sin(a), v[1] * Math.sin(a) + v[2] * Math.cos(a)];
  const rotZ = (v: Vec3): Vec3 => [v[0] * Math.cos(b) - v[1] * Math.sin(b), v[0] * Math.sin(b) + v[1] * Math.cos(b), v[2]];
  const r = rotZ(rotX([1, 0, 0]));
  const c = rotZ(rotX([0, 1, 0]));
  return [...r, ...c] as Orientation6;
}

const ORIENTATIONS: Record<string, Orientation6> = {
  axial: [1, 0, 0, 0, 1, 0],
  sagittal: [0, 1, 0, 0, 0, -1],
  coronal: [1, 0, 0, 0, 0, -1],
  oblique: obliqueOrientation(),
};

const STUDY = {
  StudyInstanceUID: '2.25.301866524419129388510394779432658211111',
  SeriesInstanceUID: '2.25.301866524419129388510394779432658222222',
  FrameOfReferenceUID: '2.25.301866524419129388510394779432658233333',
};

/** Writes a synthetic MR series (one instance per slice) and returns the file paths in slice order. */
function writeSourceSeries(dir: string, orientation: Orientation6): string[] {
  const normal = cross(rowDir(orientation), colDir(orientation));
  const origin: Vec3 = [-30.25, -40.5, 12.75];
  const paths: string[] = [];
  for (let k = 0; k < SLICES; k++) {
    const pixels = new Uint16Array(ROWS * COLUMNS).map((_, p) => (p * 7 + k * 13) % 4096);
    const dataset: NaturalDataset = {
      SpecificCharacterSet: 'ISO_IR 100',
      SOPClassUID: MR_IMAGE_STORAGE,
      SOPInstanceUID: `2.25.4000000000000000000000000000000${k + 10}`,
      PatientName: 'Synthetic^Segmentation^Test',
      PatientID: 'SEGTEST-0001',
      IssuerOfPatientID: 'CLINICAL-AI-TEST',
      PatientBirthDate: '19700101',
      PatientSex: 'O',
      PatientAge: '054Y',
      PatientWeight: 70.5,
      StudyInstanceUID: STUDY.StudyInstanceUID,
      StudyDate: '20240102',
      StudyTime: '101112',
      ReferringPhysicianName: 'Referrer^Rita',
      StudyID: 'S1',
      AccessionNumber: 'ACC-0001',
      StudyDescription: 'Synthetic brain MR',
      Modality: 'MR',
      SeriesInstanceUID: STUDY.SeriesInstanceUID,
      SeriesNumber: 3,
      SeriesDescription: 'T1 synthetic',
      FrameOfReferenceUID: STUDY.FrameOfReferenceUID,
      PositionReferenceIndicator: '',
      Manufacturer: 'Synthetic Scanner Co',
      InstanceNumber: k + 1,
      ImageType: ['ORIGINAL', 'PRIMARY', 'OTHER'],
      ImagePositionPatient: add(origin, scale(normal, k * SLICE_SPACING)),
      ImageOrientationPatient: [...orientation],
      PixelSpacing: [...PIXEL_SPACING],
      SliceThickness: 2,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: ROWS,
      Columns: COLUMNS,
      BitsAllocated: 16,
      BitsStored: 12,
      HighBit: 11,
      PixelRepresentation: 0,
      PixelData: [pixels.buffer],
      _vrMap: { PixelData: 'OW' },
    };
    const path = join(dir, `mr-${k}.dcm`);
    writeFileSync(path, writePart10(dataset, IMPLEMENTATION));
    paths.push(path);
  }
  return paths;
}

interface ReadSource {
  dataset: NaturalDataset;
  slice: SliceSource;
}

function readSource(path: string): ReadSource {
  const { dataset } = readPart10(readFileSync(path));
  const ipp = nums(dataset, 'ImagePositionPatient', 3) as Vec3;
  return {
    dataset,
    slice: { sopInstanceUid: str(dataset, 'SOPInstanceUID')!, sopClassUid: str(dataset, 'SOPClassUID')!, imagePositionPatient: ipp },
  };
}

/** The test's own sorter: by position along the slice normal, ascending. */
function sortAlongNormal(sources: ReadSource[], orientation: Orientation6): ReadSource[] {
  const normal = cross(rowDir(orientation), colDir(orientation));
  return [...sources].sort((a, b) => dot(a.slice.imagePositionPatient, normal) - dot(b.slice.imagePositionPatient, normal));
}

/** Deterministic shuffle (LCG), so a failure reproduces. */
function shuffled<T>(values: T[], seed: number): T[] {
  const out = [...values];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const SEGMENTS: SegmentDefinition[] = [
  { labelValue: 3, label: 'Brain', category: CODES.anatomicalStructure, type: CODES.brain },
  {
    labelValue: 1,
    label: 'Lesion',
    category: CODES.morphologicallyAbnormalStructure,
    type: { value: '108369006', scheme: 'SCT', meaning: 'Neoplasm' },
    typeModifier: { value: '7771000', scheme: 'SCT', meaning: 'Left' },
    recommendedDisplayCIELabValue: [43803, 26565, 37722],
  },
  // Defined but never present: must get no frames.
  { labelValue: 7, label: 'Hemorrhage', category: CODES.morphologicallyAbnormalStructure, type: { value: '50960005', scheme: 'SCT', meaning: 'Hemorrhage' } },
];

/**
 * The masks live in patient space, so the expected label of a voxel does not depend on slice order:
 * a sphere of "Brain" (label 3) with a "Lesion" (label 1) inside it on one side.
 */
function expectedLabel(p: Vec3, center: Vec3): number {
  const d = Math.hypot(p[0] - center[0], p[1] - center[1], p[2] - center[2]);
  if (d < 3.5 && p[0] > center[0]) return 1;
  if (d < 6) return 3;
  return 0;
}

function voxelPosition(slice: SliceSource, orientation: Orientation6, i: number, j: number): Vec3 {
  // PixelSpacing[1] is the distance between columns (along the row direction), [0] between rows.
  return add(slice.imagePositionPatient, add(scale(rowDir(orientation), i * PIXEL_SPACING[1]), scale(colDir(orientation), j * PIXEL_SPACING[0])));
}

function drawLabelMap(slices: SliceSource[], orientation: Orientation6, center: Vec3): Uint8Array {
  const data = new Uint8Array(ROWS * COLUMNS * slices.length);
  slices.forEach((slice, k) => {
    for (let j = 0; j < ROWS; j++) {
      for (let i = 0; i < COLUMNS; i++) data[k * ROWS * COLUMNS + j * COLUMNS + i] = expectedLabel(voxelPosition(slice, orientation, i, j), center);
    }
  });
  return data;
}

/**
 * Probability maps in patient space: segment 1 (Brain) falls off linearly from the centre to 0 at 7 mm, segment 2
 * (Lesion) is 0.8 on the sphere's positive-x half within 4 mm (above 1 is clamped, negatives are 0). Segment 3 has
 * no map, so it must get no frames.
 */
function drawProbabilities(slices: SliceSource[], orientation: Orientation6, center: Vec3): { segmentNumber: number; data: Float32Array }[] {
  const brain = new Float32Array(ROWS * COLUMNS * slices.length);
  const lesion = new Float32Array(ROWS * COLUMNS * slices.length);
  slices.forEach((slice, k) => {
    for (let j = 0; j < ROWS; j++) {
      for (let i = 0; i < COLUMNS; i++) {
        const p = voxelPosition(slice, orientation, i, j);
        const d = Math.hypot(p[0] - center[0], p[1] - center[1], p[2] - center[2]);
        const v = k * ROWS * COLUMNS + j * COLUMNS + i;
        brain[v] = 1.2 - d / 7;
        lesion[v] = d < 4 && p[0] > center[0] ? 0.8 : 0;
      }
    }
  });
  return [
    { segmentNumber: 2, data: lesion },
    { segmentNumber: 1, data: brain },
  ];
}

/** Runs a dicom3tools command; they write findings to stderr and exit non-zero on errors. */
function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** dciodvfy -new prints the IOD name, then one line per finding; "Error" lines break the IOD. */
function expectNoIodErrors(path: string, label: string): void {
  const { output } = run('dciodvfy', ['-new', path]);
  const errors = output.split('\n').filter((line) => line.includes('Error'));
  if (errors.length > 0) console.error(`dciodvfy errors for ${label}:\n${output}`);
  expect(errors).toEqual([]);
  expect(output).toContain('Segmentation');
}

/**
 * dcentvfy compares patient/study (and other entity) attributes across files. A differing value prints
 * "Error - String attribute has different value - Element=<X> IE=<Patient|Study> ..." and exits 1; an attribute
 * present in one file only prints "Warning - Attribute present in one instance but not the other ...". Consistent
 * files print nothing and exit 0, which is what we require.
 */
function entityCheck(paths: string[]): { status: number | null; output: string } {
  return run('dcentvfy', paths);
}

interface BuildVariant {
  /** Draw nothing: the empty-result policy applies. */
  empty?: boolean;
  /** BINARY when absent. FRACTIONAL gets probability maps drawn from the same spheres (see drawProbabilities). */
  segmentationType?: 'BINARY' | 'LABELMAP' | 'FRACTIONAL';
  /** Changes the source header handed to the encoder (negative controls). */
  header?: (dataset: NaturalDataset) => NaturalDataset;
}

function buildFromFiles(paths: string[], orientation: Orientation6, centerSlice: number, variant: BuildVariant = {}) {
  const sorted = sortAlongNormal(paths.map(readSource), orientation);
  const slices = sorted.map((s) => s.slice);
  const first = (variant.header ?? ((d) => d))(sorted[0]!.dataset);
  // The sphere sits at the middle of a given slice, off the pixel grid's centre, so it misses some slices.
  const center = voxelPosition(slices[centerSlice]!, orientation, 30.5, 28.5);
  const labels = variant.empty ? new Uint8Array(ROWS * COLUMNS * slices.length) : drawLabelMap(slices, orientation, center);
  const probabilities = variant.empty ? [] : drawProbabilities(slices, orientation, center);
  const fractional = variant.segmentationType === 'FRACTIONAL';
  const seg = buildSegmentation({
    ...(variant.segmentationType ? { segmentationType: variant.segmentationType } : {}),
    ...(fractional
      ? { probabilities, grid: { rows: ROWS, columns: COLUMNS } }
      : { labelMap: { rows: ROWS, columns: COLUMNS, slices: slices.length, data: labels } }),
    source: {
      dataset: first,
      slices,
      orientation: nums(first, 'ImageOrientationPatient', 6) as Orientation6,
      pixelSpacing: nums(first, 'PixelSpacing', 2) as [number, number],
      sliceThickness: num(first, 'SliceThickness'),
      frameOfReferenceUid: str(first, 'FrameOfReferenceUID')!,
      seriesInstanceUid: str(first, 'SeriesInstanceUID')!,
    },
    segments: SEGMENTS,
    seriesInstanceUid: '2.25.301866524419129388510394779432658244444',
    sopInstanceUid: '2.25.301866524419129388510394779432658255555',
    seriesNumber: 9001,
    instanceNumber: 1,
    seriesDescription: 'AI brain segmentation',
    contentLabel: 'BRAIN_AI',
    contentDescription: 'Brain and lesion',
    contentCreatorName: 'ClinicalAI^Service',
    algorithm: { name: 'synthetic-brain', version: '1.2.3' },
    equipment: {
      manufacturer: 'Clinical AI Project',
      manufacturerModelName: 'clinical-ai',
      deviceSerialNumber: 'test-0001',
      softwareVersions: ['clinical-ai 0.1.0', 'synthetic-brain 1.2.3'],
    },
    clinicalUseNotice: 'NOT FOR CLINICAL USE',
    contentDateTime: new Date(2024, 0, 2, 11, 12, 13),
  });
  return { seg, slices, labels, probabilities };
}

describeWithTools('SEG encoder against dicom3tools and a round trip', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'seg-encoder-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, orientation] of Object.entries(ORIENTATIONS)) {
    for (const order of ['reversed', 'shuffled'] as const) {
      test(`when a ${name} series arrives ${order}, then the decoded SEG equals the drawn masks on every source slice`, () => {
        const caseDir = join(dir, `${name}-${order}`);
        mkdirSync(join(caseDir, 'source'), { recursive: true });
        const written = writeSourceSeries(join(caseDir, 'source'), orientation);
        const arrived = order === 'reversed' ? [...written].reverse() : shuffled(written, 42);
        const { seg, slices, labels } = buildFromFiles(arrived, orientation, 2);

        const segPath = join(caseDir, 'seg.dcm');
        writeFileSync(segPath, seg.toPart10());
        const { dataset, transferSyntaxUid, meta } = readPart10(readFileSync(segPath));
        expect(transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
        expect(meta.MediaStorageSOPClassUID).toBe(SEGMENTATION_STORAGE_SOP_CLASS_UID);

        // Round trip: the decoded segment numbers map back to exactly the label values that were encoded.
        const decoded = decodeSegmentation(dataset, { rows: ROWS, columns: COLUMNS, slices });
        expect(decoded.segmentNumbers).toEqual([1, 2, 3]);
        const labelOfSegment = [0, ...SEGMENTS.map((s) => s.labelValue)];
        const back = decoded.labelMap.map((n) => labelOfSegment[n]!);
        expect(Buffer.from(back).equals(Buffer.from(labels))).toBe(true);
        // Both drawn segments reach some slices but not all; the empty segment 3 has no frames.
        const frameSegments = seg.frameSegments;
        expect(frameSegments.filter((s) => s === 1).length).toBeGreaterThan(0);
        expect(frameSegments.filter((s) => s === 1).length).toBeLessThan(SLICES);
        expect(frameSegments.filter((s) => s === 2).length).toBeGreaterThan(0);
        expect(frameSegments).not.toContain(3);
        expect(num(dataset, 'NumberOfFrames')).toBe(frameSegments.length);

        // Geometry: each frame's position is its referenced source instance's position, read from the source file.
        const sourceByUid = new Map(readdirSync(join(caseDir, 'source')).map((f) => {
          const s = readSource(join(caseDir, 'source', f));
          return [s.slice.sopInstanceUid, s.slice.imagePositionPatient] as const;
        }));
        const perFrame = dataset.PerFrameFunctionalGroupsSequence as NaturalDataset[];
        expect(perFrame).toHaveLength(frameSegments.length);
        perFrame.forEach((item, f) => {
          const derivation = (item.DerivationImageSequence as NaturalDataset[])[0]!;
          const ref = (derivation.SourceImageSequence as NaturalDataset[])[0]!;
          const ipp = nums((item.PlanePositionSequence as NaturalDataset[])[0]!, 'ImagePositionPatient', 3);
          expect(ipp).toEqual(sourceByUid.get(str(ref, 'ReferencedSOPInstanceUID')!));
          const dims = (item.FrameContentSequence as NaturalDataset[])[0]!.DimensionIndexValues as number[];
          const k = slices.findIndex((s) => s.sopInstanceUid === str(ref, 'ReferencedSOPInstanceUID'));
          expect(dims).toEqual([frameSegments[f], k + 1]);
        });

        // Oracles: dciodvfy finds no error, dcentvfy no inconsistency between the source files and the SEG.
        expectNoIodErrors(segPath, `${name}-${order}`);
        const sources = readdirSync(join(caseDir, 'source')).map((f) => join(caseDir, 'source', f));
        expect(entityCheck([...sources, segPath])).toEqual({ status: 0, output: '' });
      });
    }
  }

  test('when no segment has any voxel, then the SEG holds one all-zero frame of segment 1 on the first slice and dciodvfy accepts it', () => {
    const caseDir = join(dir, 'empty');
    mkdirSync(join(caseDir, 'source'), { recursive: true });
    const written = writeSourceSeries(join(caseDir, 'source'), ORIENTATIONS.axial!);
    const { seg, slices } = buildFromFiles(shuffled(written, 7), ORIENTATIONS.axial!, 2, { empty: true });
    const segPath = join(caseDir, 'seg.dcm');
    writeFileSync(segPath, seg.toPart10());
    const { dataset } = readPart10(readFileSync(segPath));

    expect(num(dataset, 'NumberOfFrames')).toBe(1);
    expect(seg.frameSegments).toEqual([1]);
    const item = (dataset.PerFrameFunctionalGroupsSequence as NaturalDataset[])[0]!;
    const ref = ((item.DerivationImageSequence as NaturalDataset[])[0]!.SourceImageSequence as NaturalDataset[])[0]!;
    expect(str(ref, 'ReferencedSOPInstanceUID')).toBe(slices[0]!.sopInstanceUid);
    expect(decodeSegmentation(dataset, { rows: ROWS, columns: COLUMNS, slices }).labelMap.every((v) => v === 0)).toBe(true);
    expectNoIodErrors(segPath, 'empty');
    const sources = readdirSync(join(caseDir, 'source')).map((f) => join(caseDir, 'source', f));
    expect(entityCheck([...sources, segPath])).toEqual({ status: 0, output: '' });
  });

  test('when the header given to the encoder names another patient, then dcentvfy reports the inconsistency (the oracle can fail)', () => {
    const caseDir = join(dir, 'control');
    mkdirSync(join(caseDir, 'source'), { recursive: true });
    const written = writeSourceSeries(join(caseDir, 'source'), ORIENTATIONS.axial!);
    const { seg } = buildFromFiles(written, ORIENTATIONS.axial!, 2, {
      header: (d) => ({ ...d, PatientName: 'Other^Patient', StudyDate: '20000101' }),
    });
    const segPath = join(caseDir, 'seg.dcm');
    writeFileSync(segPath, seg.toPart10());

    const { status, output } = entityCheck([...written, segPath]);
    expect(status).not.toBe(0);
    const errorLines = output.split('\n').filter((line) => line.startsWith('Error - '));
    expect(errorLines.some((line) => line.includes('Element=<PatientName> IE=<Patient>'))).toBe(true);
    expect(errorLines.some((line) => line.includes('Element=<StudyDate> IE=<Study>'))).toBe(true);
  });
});

/** Sequence items as dcmjs naturalizes them. */
function items(value: unknown): NaturalDataset[] {
  return Array.isArray(value) ? (value as NaturalDataset[]) : [];
}

/**
 * All Debian's dciodvfy (2022) prints for Label Map Segmentation Storage: it does not know the SOP class and so
 * checks nothing else. Kept exact, so a newer dciodvfy that does check LABELMAP makes this test speak up.
 */
const LABELMAP_DCIODVFY_OUTPUT = ['Error - Information Object Not found'];

/**
 * What dciodvfy (2022) says about a LABELMAP SEG posing as Segmentation Storage, and why each is expected: it does
 * not know the enumerated value LABELMAP, and LABELMAP frames must not carry SegmentIdentificationSequence.
 */
const LABELMAP_CHANGES_2022_RULES = [
  /^Error - <\/SegmentationType\(0062,0001\)\[1\]> - Unrecognized enumerated value = <LABELMAP>$/,
  /^Error - <\/(Shared|PerFrame)FunctionalGroupsSequence\(5200,92(29|30)\)\[\d+\]\/SegmentIdentificationSequence\(0062,000a\)> - Missing attribute for Type 1 Required - Module=<SegmentationMacro>$/,
];

/** A copy of a LABELMAP file with both SOP Class UIDs (meta and dataset) set to Segmentation Storage, bytes otherwise equal. */
function withSegmentationStorageClass(path: string): string {
  const bytes = readFileSync(path);
  const from = Buffer.from(LABEL_MAP_SEGMENTATION_STORAGE_SOP_CLASS_UID);
  const to = Buffer.from(SEGMENTATION_STORAGE_SOP_CLASS_UID);
  expect(to.length).toBe(from.length); // same length, so no element length changes
  let replaced = 0;
  for (let at = bytes.indexOf(from); at >= 0; at = bytes.indexOf(from, at + from.length)) {
    to.copy(bytes, at);
    replaced++;
  }
  expect(replaced).toBe(2);
  const copy = path.replace(/\.dcm$/, '-as-segmentation-storage.dcm');
  writeFileSync(copy, bytes);
  return copy;
}

/** Each frame's position is its referenced source instance's position, read back from the source files. */
function expectFramesOnTheirSources(dataset: NaturalDataset, sourceDir: string, slices: SliceSource[], dimensionsOf: (f: number, k: number) => number[]): void {
  const sourceByUid = new Map(readdirSync(sourceDir).map((f) => {
    const s = readSource(join(sourceDir, f));
    return [s.slice.sopInstanceUid, s.slice.imagePositionPatient] as const;
  }));
  const perFrame = dataset.PerFrameFunctionalGroupsSequence as NaturalDataset[];
  expect(perFrame).toHaveLength(num(dataset, 'NumberOfFrames')!);
  perFrame.forEach((item, f) => {
    const ref = ((item.DerivationImageSequence as NaturalDataset[])[0]!.SourceImageSequence as NaturalDataset[])[0]!;
    const ipp = nums((item.PlanePositionSequence as NaturalDataset[])[0]!, 'ImagePositionPatient', 3);
    expect(ipp).toEqual(sourceByUid.get(str(ref, 'ReferencedSOPInstanceUID')!));
    const k = slices.findIndex((s) => s.sopInstanceUid === str(ref, 'ReferencedSOPInstanceUID'));
    // dcmjs naturalizes a single value as a scalar.
    const dims = (item.FrameContentSequence as NaturalDataset[])[0]!.DimensionIndexValues;
    expect(Array.isArray(dims) ? dims : [dims]).toEqual(dimensionsOf(f, k));
  });
}

/** Writes the source series in a new case folder and the SEG next to it; returns what the tests inspect. */
function encodeCase(root: string, name: string, orientation: Orientation6, order: 'reversed' | 'shuffled', variant: BuildVariant) {
  const caseDir = join(root, name);
  const sourceDir = join(caseDir, 'source');
  mkdirSync(sourceDir, { recursive: true });
  const written = writeSourceSeries(sourceDir, orientation);
  const arrived = order === 'reversed' ? [...written].reverse() : shuffled(written, 42);
  const built = buildFromFiles(arrived, orientation, 2, variant);
  const segPath = join(caseDir, 'seg.dcm');
  writeFileSync(segPath, built.seg.toPart10());
  const read = readPart10(readFileSync(segPath));
  return { ...built, ...read, segPath, sourceDir, sources: written };
}

describeWithTools('LABELMAP and FRACTIONAL SEG round trips', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'seg-types-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, orientation] of Object.entries(ORIENTATIONS)) {
    for (const order of ['reversed', 'shuffled'] as const) {
      test(`when a ${name} series arrives ${order} and LABELMAP is asked for, then every slice has one frame and the decoded labels equal the drawn ones`, () => {
        const c = encodeCase(dir, `labelmap-${name}-${order}`, orientation, order, { segmentationType: 'LABELMAP' });
        expect(c.meta.MediaStorageSOPClassUID).toBe(LABEL_MAP_SEGMENTATION_STORAGE_SOP_CLASS_UID);
        expect(str(c.dataset, 'SOPClassUID')).toBe(LABEL_MAP_SEGMENTATION_STORAGE_SOP_CLASS_UID);
        expect(str(c.dataset, 'SegmentationType')).toBe('LABELMAP');
        expect([num(c.dataset, 'BitsAllocated'), num(c.dataset, 'BitsStored'), num(c.dataset, 'HighBit')]).toEqual([8, 8, 7]);
        expect(str(c.dataset, 'PhotometricInterpretation')).toBe('MONOCHROME2');
        expect(num(c.dataset, 'NumberOfFrames')).toBe(SLICES);
        const perFrame = c.dataset.PerFrameFunctionalGroupsSequence as NaturalDataset[];
        expect(perFrame.every((item) => item.SegmentIdentificationSequence === undefined)).toBe(true);
        const dimensionIndex = c.dataset.DimensionIndexSequence as NaturalDataset[];
        expect(dimensionIndex.map((d) => d.DimensionDescriptionLabel)).toEqual(['ImagePositionPatient']);
        expect(items(c.dataset.SegmentSequence).map((s) => s.SegmentNumber)).toEqual([1, 2, 3]);

        const decoded = decodeSegmentation(c.dataset, { rows: ROWS, columns: COLUMNS, slices: c.slices });
        const labelOfSegment = [0, ...SEGMENTS.map((s) => s.labelValue)];
        const back = decoded.labelMap.map((n) => labelOfSegment[n]!);
        expect(Buffer.from(back).equals(Buffer.from(c.labels))).toBe(true);
        expect(c.labels.some((v) => v === 1) && c.labels.some((v) => v === 3)).toBe(true);
        expectFramesOnTheirSources(c.dataset, c.sourceDir, c.slices, (f, k) => {
          expect(k).toBe(f); // one frame per slice, in slice order
          return [k + 1];
        });

        // Debian's dciodvfy (2022) predates Label Map Segmentation Storage: it only says it does not know the class.
        const { output } = run('dciodvfy', ['-new', c.segPath]);
        expect(output.trim().split('\n')).toEqual(LABELMAP_DCIODVFY_OUTPUT);
        // So judge a copy that claims Segmentation Storage: the 2022 rules must object only to what Sup 243 changed.
        const asBinaryClass = withSegmentationStorageClass(c.segPath);
        const findings = run('dciodvfy', ['-new', asBinaryClass]).output.trim().split('\n');
        expect(findings[0]).toBe('Segmentation');
        const unexplained = findings.slice(1).filter((line) => !LABELMAP_CHANGES_2022_RULES.some((rule) => rule.test(line)));
        expect(unexplained).toEqual([]);
        expect(findings.filter((line) => line.includes('Unrecognized enumerated value = <LABELMAP>'))).toHaveLength(1);
        // dcentvfy cannot place attributes of an unknown class either; on the copy it compares them and finds no difference.
        expect(entityCheck([...c.sources, asBinaryClass])).toEqual({ status: 0, output: '' });
      });

      test(`when a ${name} series arrives ${order} and FRACTIONAL is asked for, then the decoded probabilities are within 1/255 of the input`, () => {
        const c = encodeCase(dir, `fractional-${name}-${order}`, orientation, order, { segmentationType: 'FRACTIONAL' });
        expect(c.meta.MediaStorageSOPClassUID).toBe(SEGMENTATION_STORAGE_SOP_CLASS_UID);
        expect(str(c.dataset, 'SegmentationType')).toBe('FRACTIONAL');
        expect(str(c.dataset, 'SegmentationFractionalType')).toBe('PROBABILITY');
        expect(num(c.dataset, 'MaximumFractionalValue')).toBe(255);
        expect([num(c.dataset, 'BitsAllocated'), num(c.dataset, 'BitsStored'), num(c.dataset, 'HighBit')]).toEqual([8, 8, 7]);
        // Segment 1 reaches some slices but not all; segment 3 has no map and so no frames.
        expect(c.seg.frameSegments.filter((s) => s === 1).length).toBeGreaterThan(0);
        expect(c.seg.frameSegments.filter((s) => s === 1).length).toBeLessThan(SLICES);
        expect(c.seg.frameSegments.filter((s) => s === 2).length).toBeGreaterThan(0);
        expect(c.seg.frameSegments).not.toContain(3);
        expect([...c.seg.frameSegments]).toEqual([...c.seg.frameSegments].sort((a, b) => a - b));

        const decoded = decodeFractional(c.dataset, { rows: ROWS, columns: COLUMNS, slices: c.slices });
        expect(decoded.segmentNumbers).toEqual([1, 2, 3]);
        for (const map of c.probabilities) {
          const back = decoded.probabilities.get(map.segmentNumber)!;
          let worst = 0;
          map.data.forEach((p, v) => {
            worst = Math.max(worst, Math.abs(Math.min(1, Math.max(0, p)) - back[v]!));
          });
          expect(worst).toBeLessThanOrEqual(1 / 255);
        }
        expect(decoded.probabilities.get(3)!.every((v) => v === 0)).toBe(true);
        expectFramesOnTheirSources(c.dataset, c.sourceDir, c.slices, (f, k) => [c.seg.frameSegments[f]!, k + 1]);

        expectNoIodErrors(c.segPath, `fractional-${name}-${order}`);
        expect(entityCheck([...c.sources, c.segPath])).toEqual({ status: 0, output: '' });
      });
    }
  }

  test('when FRACTIONAL probabilities are all zero, then the SEG holds one all-zero frame of segment 1 and dciodvfy accepts it', () => {
    const c = encodeCase(dir, 'fractional-empty', ORIENTATIONS.axial!, 'shuffled', { segmentationType: 'FRACTIONAL', empty: true });
    expect(c.seg.frameSegments).toEqual([1]);
    const decoded = decodeFractional(c.dataset, { rows: ROWS, columns: COLUMNS, slices: c.slices });
    expect([...decoded.probabilities.values()].every((m) => m.every((v) => v === 0))).toBe(true);
    expectNoIodErrors(c.segPath, 'fractional-empty');
  });

  test('when the label map is empty and LABELMAP is asked for, then every slice still has an all-zero frame', () => {
    const c = encodeCase(dir, 'labelmap-empty', ORIENTATIONS.axial!, 'reversed', { segmentationType: 'LABELMAP', empty: true });
    expect(num(c.dataset, 'NumberOfFrames')).toBe(SLICES);
    expect(decodeSegmentation(c.dataset, { rows: ROWS, columns: COLUMNS, slices: c.slices }).labelMap.every((v) => v === 0)).toBe(true);
  });

  test('when a FRACTIONAL SEG is handed to decodeSegmentation, then it refuses and names decodeFractional', () => {
    const c = encodeCase(dir, 'fractional-refused', ORIENTATIONS.axial!, 'reversed', { segmentationType: 'FRACTIONAL' });
    expect(() => decodeSegmentation(c.dataset, { rows: ROWS, columns: COLUMNS, slices: c.slices })).toThrow(/decodeFractional/);
  });
});
