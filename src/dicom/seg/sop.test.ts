import type { NaturalDataset } from 'dcmjs';
import { CODES } from '../../domain/codes';
import { AppError } from '../../domain/errors';
import type { SegmentDefinition } from '../../domain/manifest';
import type { SliceSource } from '../../domain/volume';
import { IMPLEMENTATION, readPart10, writePart10 } from '../part10';
import {
  buildSegmentation,
  decodeSegmentation,
  LABEL_MAP_SEGMENTATION_STORAGE_SOP_CLASS_UID,
  SEGMENTATION_STORAGE_SOP_CLASS_UID,
  type SegOptions,
} from './index';

const ROWS = 61;
const COLUMNS = 63;
const PIXELS = ROWS * COLUMNS;

const SOURCE_HEADER: NaturalDataset = {
  SOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
  PatientName: 'Synthetic^Unit',
  PatientID: 'UNIT-1',
  PatientBirthDate: '19800202',
  StudyInstanceUID: '2.25.11111111111111111111',
  StudyDate: '20240301',
  StudyTime: '080000',
  AccessionNumber: 'A1',
  PatientAge: '044Y',
  // Deliberately absent: PatientSex, ReferringPhysicianName, StudyID (Type 2: must appear empty).
};

function slices(n: number, spacing = 2): SliceSource[] {
  return Array.from({ length: n }, (_, k) => ({
    sopInstanceUid: `2.25.2222222222222${k + 10}`,
    sopClassUid: '1.2.840.10008.5.1.4.1.1.4',
    imagePositionPatient: [-10, -20, k * spacing],
  }));
}

const SEGMENTS: SegmentDefinition[] = [
  { labelValue: 2, label: 'Liver', category: CODES.anatomicalStructure, type: { value: '10200004', scheme: 'SCT', meaning: 'Liver' } },
  {
    labelValue: 5,
    label: 'Left kidney',
    category: CODES.anatomicalStructure,
    type: { value: '64033007', scheme: 'SCT', meaning: 'Kidney' },
    typeModifier: { value: '7771000', scheme: 'SCT', meaning: 'Left' },
  },
  { labelValue: 9, label: 'Nodule', category: CODES.morphologicallyAbnormalStructure, type: { value: '27925004', scheme: 'SCT', meaning: 'Nodule' } },
];

function options(data: Uint8Array, overrides: Partial<SegOptions> = {}, sourceSlices = slices(data.length / PIXELS)): SegOptions {
  return {
    source: {
      dataset: SOURCE_HEADER,
      slices: sourceSlices,
      orientation: [1, 0, 0, 0, 1, 0],
      pixelSpacing: [0.8, 0.7],
      sliceThickness: 2,
      frameOfReferenceUid: '2.25.3333333333333',
      seriesInstanceUid: '2.25.4444444444444',
    },
    labelMap: { rows: ROWS, columns: COLUMNS, slices: sourceSlices.length, data },
    segments: SEGMENTS,
    seriesInstanceUid: '2.25.5555555555555',
    sopInstanceUid: '2.25.6666666666666',
    seriesNumber: 9001,
    instanceNumber: 1,
    seriesDescription: 'AI abdomen',
    contentLabel: 'ABDOMEN_AI',
    algorithm: { name: 'abdomen-net', version: '2.0.1' },
    equipment: { manufacturer: 'Clinical AI Project', manufacturerModelName: 'clinical-ai', deviceSerialNumber: 'sn-1', softwareVersions: ['0.1.0', 'abdomen-net 2.0.1'] },
    clinicalUseNotice: 'NOT FOR CLINICAL USE',
    contentDateTime: new Date(2024, 2, 1, 9, 30, 15),
    ...overrides,
  };
}

/** Label map where label 2 is on slices 1-2, label 5 on slice 3, label 9 nowhere. */
function sampleLabels(): Uint8Array {
  const data = new Uint8Array(PIXELS * 5);
  data.fill(2, PIXELS * 1 + 100, PIXELS * 1 + 900);
  data.fill(2, PIXELS * 2 + 5, PIXELS * 2 + 6);
  data.fill(5, PIXELS * 3 + 3000, PIXELS * 3 + 3843);
  return data;
}

function first(ds: NaturalDataset, keyword: string): NaturalDataset {
  return (ds[keyword] as NaturalDataset[])[0]!;
}

function expectSegInvalid(build: () => unknown, reason: RegExp): void {
  try {
    build();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('SEG_INVALID');
    expect((err as AppError).message).toMatch(reason);
    return;
  }
  throw new Error('expected SEG_INVALID');
}

describe('buildSegmentation', () => {
  test('when given a label map, then frames exist only for slices with voxels, ordered by segment then slice', () => {
    const seg = buildSegmentation(options(sampleLabels()));
    expect(seg.numberOfFrames).toBe(3);
    expect(seg.frameSegments).toEqual([1, 1, 2]);
    const perFrame = seg.dataset.PerFrameFunctionalGroupsSequence as NaturalDataset[];
    expect(perFrame.map((f) => first(f, 'FrameContentSequence').DimensionIndexValues)).toEqual([
      [1, 2],
      [1, 3],
      [2, 4],
    ]);
    expect(perFrame.map((f) => first(f, 'PlanePositionSequence').ImagePositionPatient)).toEqual([
      [-10, -20, 2],
      [-10, -20, 4],
      [-10, -20, 6],
    ]);
    expect(perFrame.map((f) => first(f, 'SegmentIdentificationSequence').ReferencedSegmentNumber)).toEqual([1, 1, 2]);
  });

  test('when built, then the dataset carries the SEG IOD basics of REFERENCE A.1, A.4-A.8', () => {
    const ds = buildSegmentation(options(sampleLabels())).dataset;
    expect(ds).toMatchObject({
      SOPClassUID: SEGMENTATION_STORAGE_SOP_CLASS_UID,
      Modality: 'SEG',
      ImageType: ['DERIVED', 'PRIMARY'],
      ContentLabel: 'ABDOMEN_AI',
      LossyImageCompression: '00',
      SegmentationType: 'BINARY',
      BitsAllocated: 1,
      BitsStored: 1,
      HighBit: 0,
      PixelRepresentation: 0,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: ROWS,
      Columns: COLUMNS,
      Manufacturer: 'Clinical AI Project',
      ManufacturerModelName: 'clinical-ai',
      DeviceSerialNumber: 'sn-1',
      SoftwareVersions: ['0.1.0', 'abdomen-net 2.0.1'],
      FrameOfReferenceUID: '2.25.3333333333333',
      ContentDate: '20240301',
      ContentTime: '093015',
    });
    const segments = ds.SegmentSequence as NaturalDataset[];
    expect(segments.map((s) => s.SegmentNumber)).toEqual([1, 2, 3]);
    expect(segments[1]).toMatchObject({
      SegmentLabel: 'Left kidney',
      SegmentAlgorithmType: 'AUTOMATIC',
      SegmentAlgorithmName: 'abdomen-net',
      SegmentedPropertyCategoryCodeSequence: [{ CodeValue: '91723000', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Anatomical Structure' }],
      SegmentedPropertyTypeCodeSequence: [
        {
          CodeValue: '64033007',
          CodingSchemeDesignator: 'SCT',
          SegmentedPropertyTypeModifierCodeSequence: [{ CodeValue: '7771000', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Left' }],
        },
      ],
      SegmentationAlgorithmIdentificationSequence: [
        {
          AlgorithmFamilyCodeSequence: [{ CodeValue: '123110', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Artificial Intelligence' }],
          AlgorithmName: 'abdomen-net',
          AlgorithmVersion: '2.0.1',
        },
      ],
    });
    const shared = first(ds, 'SharedFunctionalGroupsSequence');
    expect(first(shared, 'PlaneOrientationSequence').ImageOrientationPatient).toEqual([1, 0, 0, 0, 1, 0]);
    expect(first(shared, 'PixelMeasuresSequence')).toEqual({ PixelSpacing: [0.8, 0.7], SliceThickness: 2, SpacingBetweenSlices: 2 });
    const derivation = first(first((ds.PerFrameFunctionalGroupsSequence as NaturalDataset[])[0]!, 'DerivationImageSequence'), 'SourceImageSequence');
    expect(derivation).toMatchObject({
      ReferencedSOPInstanceUID: '2.25.222222222222211',
      PurposeOfReferenceCodeSequence: [{ CodeValue: '121322', CodingSchemeDesignator: 'DCM' }],
    });
    expect(derivation.ReferencedFrameNumber).toBeUndefined();
    const dims = ds.DimensionIndexSequence as NaturalDataset[];
    expect(dims.map((d) => d.DimensionIndexPointer)).toEqual([0x0062000b, 0x00200032]);
    expect(new Set(dims.map((d) => d.DimensionOrganizationUID)).size).toBe(1);
  });

  test('when the source header is copied, then patient/study values are identical and absent Type 2 attributes are empty', () => {
    const ds = buildSegmentation(options(sampleLabels())).dataset;
    for (const keyword of ['PatientName', 'PatientID', 'PatientBirthDate', 'StudyInstanceUID', 'StudyDate', 'StudyTime', 'AccessionNumber', 'PatientAge']) {
      expect(ds[keyword]).toEqual(SOURCE_HEADER[keyword]);
    }
    expect(ds.PatientSex).toBe('');
    expect(ds.ReferringPhysicianName).toBe('');
    expect(ds.StudyID).toBe('');
    expect(ds.SeriesInstanceUID).toBe('2.25.5555555555555');
  });

  test('when copied names are not ASCII and the source declares no character set, then the SEG declares UTF-8', () => {
    const plain = buildSegmentation(options(sampleLabels())).dataset;
    expect(plain.SpecificCharacterSet).toBeUndefined();
    const opts = options(sampleLabels());
    const seg = buildSegmentation({ ...opts, source: { ...opts.source, dataset: { ...SOURCE_HEADER, PatientName: 'Müller^Jürgen' } } });
    expect(seg.dataset.SpecificCharacterSet).toBe('ISO_IR 192');
    expect(readPart10(seg.toPart10()).dataset.PatientName).toEqual([{ Alphabetic: 'Müller^Jürgen' }]);
  });

  test('when a clinical-use notice is given, then it leads SeriesDescription and ContentDescription', () => {
    const ds = buildSegmentation(options(sampleLabels(), { contentDescription: 'x'.repeat(80) })).dataset;
    expect(ds.SeriesDescription).toBe('NOT FOR CLINICAL USE - AI abdomen');
    expect(String(ds.ContentDescription).startsWith('NOT FOR CLINICAL USE - xxx')).toBe(true);
    expect(String(ds.ContentDescription)).toHaveLength(64);
  });

  test('when the source is one multi-frame instance, then frames reference frame numbers and the instance is listed once', () => {
    const mf: SliceSource[] = slices(5).map((s, k) => ({ ...s, sopInstanceUid: '2.25.77777', frameNumber: k + 1 }));
    const seg = buildSegmentation(options(sampleLabels(), {}, mf));
    const refs = (seg.dataset.PerFrameFunctionalGroupsSequence as NaturalDataset[]).map((f) =>
      first(first(f, 'DerivationImageSequence'), 'SourceImageSequence'),
    );
    expect(refs.map((r) => r.ReferencedFrameNumber)).toEqual([2, 3, 4]);
    const series = first(seg.dataset, 'ReferencedSeriesSequence');
    expect(series.SeriesInstanceUID).toBe('2.25.4444444444444');
    expect(series.ReferencedInstanceSequence).toEqual([{ ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.4', ReferencedSOPInstanceUID: '2.25.77777' }]);
    const decoded = decodeSegmentation(readPart10(seg.toPart10()).dataset, { rows: ROWS, columns: COLUMNS, slices: mf });
    expect(decoded.labelMap.filter((v) => v !== 0)).toHaveLength(800 + 1 + 843);
  });

  test('when slice spacing is not uniform, then SpacingBetweenSlices is left out', () => {
    const uneven = slices(5).map((s, k) => ({ ...s, imagePositionPatient: [-10, -20, k * 2 + (k === 4 ? 1 : 0)] as [number, number, number] }));
    const shared = first(buildSegmentation(options(sampleLabels(), {}, uneven)).dataset, 'SharedFunctionalGroupsSequence');
    expect(first(shared, 'PixelMeasuresSequence').SpacingBetweenSlices).toBeUndefined();
  });

  test('when written, then the bytes equal dcmjs writing the whole dataset (our tail writer matches dcmjs)', () => {
    const multiFrame = slices(5).map((s, k) => ({ ...s, sopInstanceUid: '2.25.77777', frameNumber: k + 1 }));
    for (const sourceSlices of [slices(5), multiFrame]) {
      const seg = buildSegmentation(options(sampleLabels(), {}, sourceSlices));
      const ours = seg.toPart10();
      expect(Buffer.from(ours).equals(Buffer.from(writePart10(seg.dataset, IMPLEMENTATION)))).toBe(true);
      expect(ours.length % 2).toBe(0);
    }
  });

  test('when geometry values need more than 16 characters, then they are written rounded (not cut) as valid DS', () => {
    const tilt = Math.PI / 2; // cos(90 deg) = 6.123233995736766e-17, which a 16-character cut would make 6.12
    const orientation: [number, number, number, number, number, number] = [1, 0, 0, 0, Math.cos(tilt), Math.sin(tilt)];
    const odd = slices(5).map((s, k) => ({ ...s, imagePositionPatient: [1 / 3, k * -2.123456789012345, -123456789.12345679] as [number, number, number] }));
    const opts = options(sampleLabels(), {}, odd);
    const seg = buildSegmentation({ ...opts, source: { ...opts.source, orientation } });
    const back = readPart10(seg.toPart10()).dataset;
    const iop = first(first(back, 'SharedFunctionalGroupsSequence'), 'PlaneOrientationSequence').ImageOrientationPatient as number[];
    iop.forEach((v, i) => expect(v).toBeCloseTo(orientation[i]!, 12));
    const ipp = first((back.PerFrameFunctionalGroupsSequence as NaturalDataset[])[0]!, 'PlanePositionSequence').ImagePositionPatient as number[];
    expect(ipp[0]).toBeCloseTo(1 / 3, 12);
    expect(ipp[1]).toBeCloseTo(-2.123456789012345, 12); // frame 1 is on slice 1
    expect(ipp[2]).toBeCloseTo(-123456789.12346, 5);
  });

  test('when built twice from the same input, then the Part 10 bytes are identical', () => {
    const a = buildSegmentation(options(sampleLabels())).toPart10();
    const b = buildSegmentation(options(sampleLabels())).toPart10();
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  test('when a random 63x61 label map is encoded, written and read back, then decoding gives it back exactly', () => {
    const data = new Uint8Array(PIXELS * 6);
    let x = 12345;
    for (let i = 0; i < data.length; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      data[i] = [0, 0, 2, 5, 9][x % 5]!;
    }
    const seg = buildSegmentation(options(data));
    const decoded = decodeSegmentation(readPart10(seg.toPart10()).dataset, { rows: ROWS, columns: COLUMNS, slices: slices(6) });
    const labelOfSegment = [0, 2, 5, 9];
    expect(Buffer.from(decoded.labelMap.map((n) => labelOfSegment[n]!)).equals(Buffer.from(data))).toBe(true);
    expect(seg.numberOfFrames).toBe(18);
  });

  test('when there are more segments than the native presence search takes (20), then the full scan gives the same round trip and refusals', () => {
    const many = Array.from({ length: 20 }, (_, s) => ({ ...SEGMENTS[0]!, labelValue: s + 1, label: `Structure ${s + 1}` }));
    const data = new Uint8Array(PIXELS * 6);
    let x = 777;
    for (let i = 0; i < data.length; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      data[i] = x % 3 === 0 ? 0 : (x % 20) + 1;
    }
    const seg = buildSegmentation(options(data, { segments: many }));
    const decoded = decodeSegmentation(readPart10(seg.toPart10()).dataset, { rows: ROWS, columns: COLUMNS, slices: slices(6) });
    expect(Buffer.from(decoded.labelMap).equals(Buffer.from(data))).toBe(true);
    const pairs = new Set(Array.from(data, (v, i) => (v === 0 ? -1 : Math.floor(i / PIXELS) * 256 + v)).filter((p) => p >= 0));
    expect(seg.numberOfFrames).toBe(pairs.size); // one frame per (segment, slice) that has voxels
    data[5] = 31;
    expect(() => buildSegmentation(options(data, { segments: many }))).toThrow(/without a segment definition: 31/);
  });

  test('when nothing is segmented, then one all-zero frame of segment 1 on the first slice is written', () => {
    const seg = buildSegmentation(options(new Uint8Array(PIXELS * 5)));
    expect(seg.numberOfFrames).toBe(1);
    expect(seg.frameSegments).toEqual([1]);
    const frame = (seg.dataset.PerFrameFunctionalGroupsSequence as NaturalDataset[])[0]!;
    expect(first(frame, 'FrameContentSequence').DimensionIndexValues).toEqual([1, 1]);
    const pixels = new Uint8Array((seg.dataset.PixelData as ArrayBuffer[])[0]!);
    expect(pixels.length).toBe(482);
    expect(pixels.every((b) => b === 0)).toBe(true);
  });
});

/** FRACTIONAL options on the sample grid (5 slices) without a label map. */
function fractional(probabilities: NonNullable<SegOptions['probabilities']>, overrides: Partial<SegOptions> = {}): SegOptions {
  const { labelMap: _unused, ...rest } = options(sampleLabels());
  return { ...rest, segmentationType: 'FRACTIONAL', probabilities, grid: { rows: ROWS, columns: COLUMNS }, ...overrides };
}

describe('LABELMAP and FRACTIONAL encoding', () => {
  test('when LABELMAP is asked for, then each voxel holds its segment number, every slice is a frame and no frame names a segment', () => {
    const seg = buildSegmentation(options(sampleLabels(), { segmentationType: 'LABELMAP' }));
    const ds = seg.dataset;
    expect(ds.SOPClassUID).toBe(LABEL_MAP_SEGMENTATION_STORAGE_SOP_CLASS_UID);
    expect([ds.SegmentationType, ds.SegmentsOverlap, ds.BitsAllocated, ds.BitsStored, ds.HighBit]).toEqual(['LABELMAP', 'NO', 8, 8, 7]);
    expect(seg.numberOfFrames).toBe(5);
    expect(seg.frameSegments).toEqual([0, 0, 0, 0, 0]);
    const pixels = new Uint8Array((ds.PixelData as ArrayBuffer[])[0]!);
    // Label 2 is segment 1, label 5 segment 2; PIXELS*5 is odd, so one padding byte.
    expect(pixels.length).toBe(PIXELS * 5 + 1);
    expect(pixels[PIXELS + 100]).toBe(1);
    expect(pixels[PIXELS * 3 + 3000]).toBe(2);
    expect(pixels[0]).toBe(0);
  });

  test('when probabilities are quantised, then values are round(p*255), clamped to 0..255', () => {
    const data = new Float32Array(PIXELS * 5);
    data.set([0.5, 1 / 255, 0.4 / 255, 1.7, -0.3, 0.999], PIXELS * 2);
    const seg = buildSegmentation(fractional([{ segmentNumber: 2, data }]));
    expect(seg.frameSegments).toEqual([2]);
    expect(seg.dataset.SegmentationFractionalType).toBe('PROBABILITY');
    expect(seg.dataset.MaximumFractionalValue).toBe(255);
    const pixels = new Uint8Array((seg.dataset.PixelData as ArrayBuffer[])[0]!);
    expect([...pixels.subarray(0, 6)]).toEqual([128, 1, 0, 255, 0, 255]);
  });

  test('when LABELMAP or FRACTIONAL is written, then the bytes equal dcmjs writing the whole dataset', () => {
    const data = new Float32Array(PIXELS * 5).fill(0.25, PIXELS, PIXELS * 3);
    for (const seg of [buildSegmentation(options(sampleLabels(), { segmentationType: 'LABELMAP' })), buildSegmentation(fractional([{ segmentNumber: 3, data }]))]) {
      const ours = seg.toPart10();
      expect(Buffer.from(ours).equals(Buffer.from(writePart10(seg.dataset, IMPLEMENTATION)))).toBe(true);
      expect(ours.length % 2).toBe(0);
    }
  });
});

describe('buildSegmentation input checks', () => {
  const cases: Array<[string, () => SegOptions, RegExp]> = [
    ['the label map size does not match rows*columns*slices', () => options(sampleLabels(), { labelMap: { rows: ROWS, columns: COLUMNS, slices: 5, data: new Uint8Array(10) } }), /voxels, expected/],
    ['the label map has more slices than the source', () => options(sampleLabels(), { labelMap: { rows: ROWS, columns: COLUMNS, slices: 5, data: sampleLabels() } }, slices(4)), /5 slices but the source has 4/],
    ['the map holds a label without a segment', () => { const d = sampleLabels(); d[7] = 4; d[8] = 200; return options(d); }, /without a segment definition: 4, 200/],
    ['two segments share a label value', () => options(sampleLabels(), { segments: [SEGMENTS[0]!, { ...SEGMENTS[1]!, labelValue: 2 }] }), /repeats label value 2/],
    ['a segment has no type code', () => options(sampleLabels(), { segments: [{ ...SEGMENTS[0]!, type: undefined as never }] }), /segment 1 type is missing/],
    ['a code has an empty meaning', () => options(sampleLabels(), { segments: [{ ...SEGMENTS[0]!, category: { value: '1', scheme: 'SCT', meaning: ' ' } }] }), /category code meaning is missing/],
    ['a code uses the retired SRT scheme', () => options(sampleLabels(), { segments: [{ ...SEGMENTS[0]!, type: { value: 'T-62000', scheme: 'SRT', meaning: 'Liver' } }] }), /SRT/],
    ['the SOP Instance UID is malformed', () => options(sampleLabels(), { sopInstanceUid: '2.25.01x' }), /SOPInstanceUID is not a valid DICOM UID/],
    ['a UID is longer than 64 characters', () => options(sampleLabels(), { seriesInstanceUid: `2.25.${'1'.repeat(70)}` }), /SeriesInstanceUID is not a valid/],
    ['a source slice UID is malformed', () => options(sampleLabels(), {}, slices(5).map((s, k) => (k === 3 ? { ...s, sopInstanceUid: 'abc' } : s))), /source slice 3 SOPInstanceUID/],
    ['the source header has no StudyInstanceUID', () => ({ ...options(sampleLabels()), source: { ...options(sampleLabels()).source, dataset: {} } }), /StudyInstanceUID/],
    ['the content label is not a CS', () => options(sampleLabels(), { contentLabel: 'brain-ai' }), /ContentLabel/],
    ['the slices are not sorted along the normal', () => options(sampleLabels(), {}, [0, 1, 3, 2, 4].map((k) => slices(5)[k]!)), /breaks the sort order/],
    ['two slices share a position', () => options(sampleLabels(), {}, slices(5).map((s, k) => (k === 2 ? { ...s, imagePositionPatient: [-10, -20, 2] as [number, number, number] } : s))), /same position/],
    ['the software versions are empty', () => options(sampleLabels(), { equipment: { manufacturer: 'M', manufacturerModelName: 'N', deviceSerialNumber: 'S', softwareVersions: [] } }), /SoftwareVersions/],
    ['there are no segments', () => options(sampleLabels(), { segments: [] }), /no segment definitions/],
    ['a LABELMAP label map holds a label without a segment', () => { const d = sampleLabels(); d[8] = 200; d[9] = 4; return options(d, { segmentationType: 'LABELMAP' }); }, /without a segment definition: 4, 200/],
    ['FRACTIONAL is asked for with a label map', () => options(sampleLabels(), { segmentationType: 'FRACTIONAL', probabilities: [], grid: { rows: ROWS, columns: COLUMNS } }), /not a label map/],
    ['FRACTIONAL has no grid', () => fractional([], { grid: undefined }), /needs grid/],
    ['a probability map names a segment that does not exist', () => fractional([{ segmentNumber: 4, data: new Float32Array(PIXELS * 5) }]), /segment number must be an integer in 1..3/],
    ['two probability maps name one segment', () => fractional([1, 1].map((n) => ({ segmentNumber: n, data: new Float32Array(PIXELS * 5) }))), /repeats segment 1/],
    ['a probability map has the wrong size', () => fractional([{ segmentNumber: 1, data: new Float32Array(PIXELS) }]), /expected/],
    ['a probability is NaN', () => fractional([{ segmentNumber: 1, data: new Float32Array(PIXELS * 5).fill(Number.NaN) }]), /NaN/],
    ['BINARY is given probabilities', () => options(sampleLabels(), { probabilities: [] }), /not probabilities/],
  ];
  for (const [when, build, reason] of cases) {
    test(`when ${when}, then SEG_INVALID says why`, () => {
      expectSegInvalid(() => buildSegmentation(build()), reason);
    });
  }
});
