/**
 * The Segmentation SOP instance (PS3.3 A.51): BINARY (default), LABELMAP or FRACTIONAL. buildSegmentation returns
 * a complete, valid dataset or throws AppError('SEG_INVALID', reason); nothing is defaulted silently except what
 * docs/seg.md lists.
 */
import type { NaturalDataset } from 'dcmjs';
import { deterministicUid } from '../../domain/identity';
import type { AppError } from '../../domain/errors';
import type { Vec3 } from '../../domain/study';
import type { LabelMap } from '../../domain/volume';
import { IMPLEMENTATION, writePart10 } from '../part10';
import { packedByteLength, packLabelMap } from './bitpack';
import { assemblePart10, endsBeforeTail, withDecimalStrings, writeHeaderWithInstanceList, type FrameItemParts, type PixelDataWriter } from './tail-writer';
import {
  dimensionIndexValues,
  dimensions,
  perFrameFunctionalGroups,
  referencedSeries,
  segmentDescription,
  sharedFunctionalGroups,
  type FrameContent,
} from './content';
import {
  IMAGE_TYPE,
  LABEL_MAP_SEGMENTATION_STORAGE_SOP_CLASS_UID,
  LOSSY_IMAGE_COMPRESSION_NONE,
  MAXIMUM_FRACTIONAL_VALUE,
  SEGMENTATION_STORAGE_SOP_CLASS_UID,
  SegmentationFractionalType,
  SegmentationType,
} from './enums';
import type { SegOptions, Segmentation } from './types';
import { cross, dot, segInvalid, validateOptions } from './validate';

/** Patient, Clinical Trial Subject, General Study, Patient Study and Clinical Trial Study attributes, copied verbatim. */
const COPIED_FROM_SOURCE = [
  'PatientName', 'PatientID', 'IssuerOfPatientID', 'IssuerOfPatientIDQualifiersSequence', 'TypeOfPatientID',
  'PatientBirthDate', 'PatientBirthTime', 'PatientSex', 'OtherPatientIDsSequence', 'OtherPatientNames',
  'EthnicGroup', 'PatientComments', 'PatientSpeciesDescription', 'PatientSpeciesCodeSequence',
  'PatientBreedDescription', 'PatientBreedCodeSequence', 'BreedRegistrationSequence', 'ResponsiblePerson',
  'ResponsiblePersonRole', 'ResponsibleOrganization', 'PatientIdentityRemoved', 'DeidentificationMethod',
  'DeidentificationMethodCodeSequence', 'QualityControlSubject',
  'ClinicalTrialSponsorName', 'ClinicalTrialProtocolID', 'ClinicalTrialProtocolName', 'ClinicalTrialSiteID',
  'ClinicalTrialSiteName', 'ClinicalTrialSubjectID', 'ClinicalTrialSubjectReadingID',
  'StudyInstanceUID', 'StudyDate', 'StudyTime', 'ReferringPhysicianName', 'ReferringPhysicianIdentificationSequence',
  'ConsultingPhysicianName', 'StudyID', 'AccessionNumber', 'IssuerOfAccessionNumberSequence', 'StudyDescription',
  'PhysiciansOfRecord', 'NameOfPhysiciansReadingStudy', 'RequestingService', 'ProcedureCodeSequence',
  'ReasonForPerformedProcedureCodeSequence',
  'AdmittingDiagnosesDescription', 'PatientAge', 'PatientSize', 'PatientWeight', 'PatientBodyMassIndex',
  'Occupation', 'AdditionalPatientHistory', 'PregnancyStatus', 'SmokingStatus', 'PatientSexNeutered',
  'ClinicalTrialTimePointID', 'ClinicalTrialTimePointDescription', 'ConsentForClinicalTrialUseSequence',
  'PositionReferenceIndicator',
] as const;

/** Type 2 attributes among those: present, empty, when the source lacks them. */
const TYPE2_IF_ABSENT = [
  'PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyDate', 'StudyTime', 'ReferringPhysicianName',
  'StudyID', 'AccessionNumber', 'PositionReferenceIndicator',
] as const;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Slice spacings that differ by less than this are "uniform" (mm). */
const UNIFORM_SPACING_TOLERANCE_MM = 1e-3;
const LO_MAX = 64;

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** DICOM DA and TM in the service's local time, as the source's own dates are (no TimezoneOffsetFromUTC). */
function dicomDateTime(date: Date): { date: string; time: string } {
  return {
    date: `${date.getFullYear()}${pad2(date.getMonth() + 1)}${pad2(date.getDate())}`,
    time: `${pad2(date.getHours())}${pad2(date.getMinutes())}${pad2(date.getSeconds())}`,
  };
}

/** The notice goes first so that truncation to LO length can never drop it. */
function withNotice(notice: string | undefined, text: string | undefined): string | undefined {
  const joined = [notice?.trim(), text?.trim()].filter((s): s is string => !!s).join(' - ');
  return joined === '' ? undefined : joined.slice(0, LO_MAX);
}

function hasNonAscii(value: unknown): boolean {
  if (typeof value === 'string') return [...value].some((ch) => ch.charCodeAt(0) > 0x7f);
  if (Array.isArray(value)) return value.some(hasNonAscii);
  if (value && typeof value === 'object' && !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)) {
    return Object.values(value).some(hasNonAscii);
  }
  return false;
}

/**
 * Which label values occur on which slice: present[k * 256 + v] = 1. One pass over the label map, 4 voxels per
 * 32-bit read where the slice is aligned, skipping background words; it also finds labels no segment defines.
 */
function scanLabels(data: Uint8Array, pixelsPerSlice: number, slices: number): Uint8Array {
  const present = new Uint8Array(slices * 256);
  const words = LITTLE_ENDIAN && data.byteOffset % 4 === 0 ? new Int32Array(data.buffer, data.byteOffset, data.length >>> 2) : undefined;
  for (let k = 0; k < slices; k++) {
    const base = k * 256;
    let i = k * pixelsPerSlice;
    const end = i + pixelsPerSlice;
    if (words) {
      for (; i < end && (i & 3) !== 0; i++) present[base + data[i]!] = 1;
      const wordEnd = (end - i) >>> 2;
      // Most words repeat the one before (runs of one label, background): those were marked already.
      let last = 0;
      for (let w = i >>> 2, stop = w + wordEnd; w < stop; w++) {
        const v = words[w]!;
        if (v === last) continue;
        last = v;
        present[base + (v & 255)] = 1;
        if (((v ^ (v >>> 8)) & 0xffffff) === 0) continue; // one label in all 4 voxels
        present[base + ((v >>> 8) & 255)] = 1;
        present[base + ((v >>> 16) & 255)] = 1;
        present[base + (v >>> 24)] = 1;
      }
      i += wordEnd * 4;
    }
    for (; i < end; i++) present[base + data[i]!] = 1;
  }
  // present[base + 0] marks background, which is not a segment; callers ignore it.
  return present;
}

/** The spacing between consecutive slices along the normal when it is uniform, else undefined. */
function uniformSpacing(positions: readonly Vec3[], normal: Vec3): number | undefined {
  if (positions.length < 2) return undefined;
  const along = positions.map((p) => dot(p, normal));
  const first = Math.abs(along[1]! - along[0]!);
  for (let k = 2; k < along.length; k++) {
    if (Math.abs(Math.abs(along[k]! - along[k - 1]!) - first) > UNIFORM_SPACING_TOLERANCE_MM) return undefined;
  }
  // Rounded to µm: the value is derived, and a long float would not fit a DS anyway.
  return Math.round(first * 1000) / 1000;
}

/**
 * Part 10 bytes: dcmjs writes everything before the Per-Frame Functional Groups; tail-writer.ts assembles those items
 * and Pixel Data (the two highest tags) into the same output buffer. The bytes equal what dcmjs writes for the whole
 * dataset (tested) when no DS needs more than 16 characters, but seconds faster for hundreds of frames and with one
 * copy of the SEG. Numeric DS values are formatted by us first (see decimalString). Falls back to dcmjs alone if the
 * header ever holds an attribute that sorts after the tail.
 */
function toPart10(header: NaturalDataset, frames: readonly FrameContent[], pixels: PixelDataWriter, whole: () => NaturalDataset): Uint8Array {
  if (!endsBeforeTail(Object.keys(header))) return writePart10(withDecimalStrings(whole()), IMPLEMENTATION);
  const parts: FrameItemParts[] = frames.map((frame) => ({
    sliceIndex: frame.sliceIndex,
    segmentNumber: frame.segmentNumber,
    dimensionIndexValues: dimensionIndexValues(frame),
    item: () => perFrameFunctionalGroups(frame),
  }));
  const head = writeHeaderWithInstanceList(withDecimalStrings(header), (ds) => writePart10(ds, IMPLEMENTATION));
  return assemblePart10(head, parts, pixels);
}

/** The Pixel Data value as a standalone buffer (for the naturalized dataset; toPart10 writes into the file instead). */
function pixelBuffer(pixels: PixelDataWriter): Uint8Array {
  const out = new Uint8Array(pixels.byteLength + pixels.scratchBytes);
  pixels.writeInto(out);
  return pixels.scratchBytes === 0 ? out : out.slice(0, pixels.byteLength);
}

/** What differs between the segmentation types: frames, their pixels, and the Image Pixel/Segmentation attributes. */
interface EncodedFrames {
  frames: FrameContent[];
  /** Writes the whole Pixel Data value (even length) when the file is assembled. */
  pixels: PixelDataWriter;
  attributes: NaturalDataset;
}

/** Label values that occur in the label map but have no segment definition (from scanLabels' table). */
function undefinedLabels(present: Uint8Array, slices: number, defined: ReadonlySet<number>): number[] {
  const found: number[] = [];
  for (let v = 1; v < 256; v++) {
    if (defined.has(v)) continue;
    for (let k = 0; k < slices; k++) {
      if (present[k * 256 + v]) {
        found.push(v);
        break;
      }
    }
  }
  return found;
}

/** Up to this many segments, which labels occur on which slice is found with memchr (Buffer#indexOf) per label. */
const NATIVE_PRESENCE_MAX_SEGMENTS = 16;

/**
 * present[k * 256 + v] = 1 where label v occurs on slice k, for the given labels only: a native byte search per
 * (slice, label) that stops at the first hit, several GB/s where a JS loop over every voxel is not.
 */
function presenceOf(data: Uint8Array, pixelsPerSlice: number, slices: number, labels: readonly number[]): Uint8Array {
  const present = new Uint8Array(slices * 256);
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (let k = 0; k < slices; k++) {
    const slice = bytes.subarray(k * pixelsPerSlice, (k + 1) * pixelsPerSlice);
    for (const v of labels) if (slice.indexOf(v) >= 0) present[k * 256 + v] = 1;
  }
  return present;
}

/**
 * BINARY: one 1-bit frame per (segment, slice) with voxels, packed back to back. Which segments occur on which
 * slice decides the frames; then packLabelMap reads the label map once. Labels without a segment are caught by
 * the full scan (many segments) or by the packer (few segments: their voxels land in its scratch frame).
 */
function binaryFrames(options: SegOptions, labelMap: LabelMap): EncodedFrames {
  const { source, segments } = options;
  const pixelsPerFrame = labelMap.rows * labelMap.columns;
  const labelValues = segments.map((s) => s.labelValue);
  const defined = new Set(labelValues);

  let present: Uint8Array;
  if (segments.length <= NATIVE_PRESENCE_MAX_SEGMENTS) {
    present = presenceOf(labelMap.data, pixelsPerFrame, labelMap.slices, labelValues);
  } else {
    present = scanLabels(labelMap.data, pixelsPerFrame, labelMap.slices);
    const unknown = undefinedLabels(present, labelMap.slices, defined);
    if (unknown.length > 0) throw undefinedLabelsError(unknown);
  }

  // Frames by segment number, then slice order; slices without voxels of a segment get no frame.
  const frames: FrameContent[] = [];
  const frameOf = new Int32Array(labelMap.slices * 256).fill(-1);
  segments.forEach((segment, s) => {
    for (let k = 0; k < labelMap.slices; k++) {
      if (!present[k * 256 + segment.labelValue]) continue;
      frameOf[k * 256 + segment.labelValue] = frames.length;
      frames.push({ segmentNumber: s + 1, sliceIndex: k, source: source.slices[k]! });
    }
  });
  if (frames.length === 0) {
    // Empty-result policy: NumberOfFrames must be > 0, so an empty result is one all-zero frame of segment 1 on
    // the first source slice. No segment's label occurs, so packing writes no bit of it.
    frames.push({ segmentNumber: 1, sliceIndex: 0, source: source.slices[0]! });
  }
  const byteLength = packedByteLength(frames.length, pixelsPerFrame);
  return {
    frames,
    pixels: {
      byteLength,
      scratchBytes: Math.ceil(pixelsPerFrame / 8),
      writeInto(out) {
        if (packLabelMap(labelMap.data, pixelsPerFrame, labelMap.slices, frameOf, out, byteLength)) return;
        // Error path only: name the offending labels.
        throw labelsWithoutSegmentError(labelMap, defined);
      },
    },
    attributes: { SegmentationType: SegmentationType.BINARY, BitsAllocated: 1, BitsStored: 1, HighBit: 0 },
  };
}

/** Error path of the one-pass writers: a full scan names the labels that have no segment. */
function labelsWithoutSegmentError(labelMap: LabelMap, defined: ReadonlySet<number>): AppError {
  const present = scanLabels(labelMap.data, labelMap.rows * labelMap.columns, labelMap.slices);
  return undefinedLabelsError(undefinedLabels(present, labelMap.slices, defined));
}

function undefinedLabelsError(labels: number[]): AppError {
  return segInvalid(`label map contains values without a segment definition: ${labels.join(', ')}`);
}

/**
 * LABELMAP: one 8-bit frame per source slice, every slice kept (also empty ones, so a receiver gets the whole
 * grid), holding segment numbers (label value mapped through a table in one pass); 0 is background.
 * Segment numbers are at most 255 because label values are 8-bit, so BitsAllocated 16 is never needed.
 */
function labelMapFrames(options: SegOptions, labelMap: LabelMap): EncodedFrames {
  const segmentOfLabel = new Uint8Array(256);
  options.segments.forEach((segment, s) => {
    segmentOfLabel[segment.labelValue] = s + 1;
  });
  const { data } = labelMap;
  return {
    frames: options.source.slices.map((slice, k) => ({ segmentNumber: undefined, sliceIndex: k, source: slice })),
    pixels: {
      byteLength: data.length + (data.length & 1),
      scratchBytes: 0,
      writeInto(out) {
        let unmapped = false;
        for (let i = 0; i < data.length; i++) {
          const segmentNumber = segmentOfLabel[data[i]!]!;
          out[i] = segmentNumber;
          // A non-zero label that maps to 0 has no segment definition.
          if (segmentNumber === 0 && data[i] !== 0) unmapped = true;
        }
        if (!unmapped) return;
        throw labelsWithoutSegmentError(labelMap, new Set(options.segments.map((s) => s.labelValue)));
      },
    },
    attributes: {
      SegmentationType: SegmentationType.LABELMAP,
      SegmentsOverlap: 'NO',
      BitsAllocated: 8,
      BitsStored: 8,
      HighBit: 7,
    },
  };
}

/** Probability 0..1 to 0..MAXIMUM_FRACTIONAL_VALUE, rounded and clamped; NaN is refused rather than guessed. */
function quantise(values: Float32Array, from: number, to: Uint8Array): boolean {
  let any = false;
  for (let p = 0; p < to.length; p++) {
    const value = values[from + p]!;
    if (Number.isNaN(value)) throw segInvalid('a probability map contains NaN');
    const q = Math.round(value * MAXIMUM_FRACTIONAL_VALUE);
    const clamped = q < 0 ? 0 : q > MAXIMUM_FRACTIONAL_VALUE ? MAXIMUM_FRACTIONAL_VALUE : q;
    to[p] = clamped;
    if (clamped !== 0) any = true;
  }
  return any;
}

/** FRACTIONAL (PROBABILITY): one 8-bit frame per (segment, slice) with any non-zero value, same order as BINARY. */
function fractionalFrames(options: SegOptions, rows: number, columns: number): EncodedFrames {
  const { source } = options;
  const pixelsPerFrame = rows * columns;
  const maps = [...(options.probabilities ?? [])].sort((a, b) => a.segmentNumber - b.segmentNumber);
  const frames: FrameContent[] = [];
  const chunks: Uint8Array[] = [];
  for (const map of maps) {
    for (let k = 0; k < source.slices.length; k++) {
      const frame = new Uint8Array(pixelsPerFrame);
      if (!quantise(map.data, k * pixelsPerFrame, frame)) continue;
      frames.push({ segmentNumber: map.segmentNumber, sliceIndex: k, source: source.slices[k]! });
      chunks.push(frame);
    }
  }
  // Same empty-result policy as BINARY: one all-zero frame of segment 1 on the first slice.
  if (frames.length === 0) {
    frames.push({ segmentNumber: 1, sliceIndex: 0, source: source.slices[0]! });
    chunks.push(new Uint8Array(pixelsPerFrame));
  }
  const length = frames.length * pixelsPerFrame;
  return {
    frames,
    pixels: {
      byteLength: length + (length & 1),
      scratchBytes: 0,
      writeInto: (out) => chunks.forEach((chunk, f) => out.set(chunk, f * pixelsPerFrame)),
    },
    attributes: {
      SegmentationType: SegmentationType.FRACTIONAL,
      SegmentationFractionalType: SegmentationFractionalType.PROBABILITY,
      MaximumFractionalValue: MAXIMUM_FRACTIONAL_VALUE,
      BitsAllocated: 8,
      BitsStored: 8,
      HighBit: 7,
    },
  };
}

export function buildSegmentation(options: SegOptions): Segmentation {
  validateOptions(options);
  const { source, segments } = options;
  const type = options.segmentationType ?? SegmentationType.BINARY;
  const rows = options.labelMap?.rows ?? options.grid!.rows;
  const columns = options.labelMap?.columns ?? options.grid!.columns;
  const { frames, pixels, attributes } =
    type === SegmentationType.FRACTIONAL
      ? fractionalFrames(options, rows, columns)
      : type === SegmentationType.LABELMAP
        ? labelMapFrames(options, options.labelMap!)
        : binaryFrames(options, options.labelMap!);

  const row: Vec3 = [source.orientation[0], source.orientation[1], source.orientation[2]];
  const col: Vec3 = [source.orientation[3], source.orientation[4], source.orientation[5]];
  const spacingBetweenSlices = uniformSpacing(source.slices.map((s) => s.imagePositionPatient), cross(row, col));
  const content = dicomDateTime(options.contentDateTime);

  const copied: NaturalDataset = {};
  for (const keyword of COPIED_FROM_SOURCE) {
    if (source.dataset[keyword] !== undefined) copied[keyword] = source.dataset[keyword];
  }
  for (const keyword of TYPE2_IF_ABSENT) {
    if (copied[keyword] === undefined || copied[keyword] === null) copied[keyword] = '';
  }
  // dcmjs writes UTF-8; say so when any copied value needs it (it reports ISO_IR 192 for sources it decoded).
  const sourceCharset = source.dataset.SpecificCharacterSet;
  const specificCharacterSet =
    sourceCharset !== undefined && sourceCharset !== null && sourceCharset !== ''
      ? sourceCharset
      : hasNonAscii([copied, options.seriesDescription, options.contentDescription, options.contentCreatorName,
            options.clinicalUseNotice, options.segments, options.algorithm, options.equipment])
        ? 'ISO_IR 192'
        : undefined;

  const header: NaturalDataset = {
    ...(specificCharacterSet === undefined ? {} : { SpecificCharacterSet: specificCharacterSet }),
    // SOP Common
    SOPClassUID: type === SegmentationType.LABELMAP ? LABEL_MAP_SEGMENTATION_STORAGE_SOP_CLASS_UID : SEGMENTATION_STORAGE_SOP_CLASS_UID,
    SOPInstanceUID: options.sopInstanceUid,
    InstanceCreationDate: content.date,
    InstanceCreationTime: content.time,
    // Patient, General Study, Patient Study (+ Frame of Reference's PositionReferenceIndicator)
    ...copied,
    // General Series + Segmentation Series
    Modality: 'SEG',
    SeriesInstanceUID: options.seriesInstanceUid,
    SeriesNumber: options.seriesNumber,
    SeriesDate: content.date,
    SeriesTime: content.time,
    SeriesDescription: withNotice(options.clinicalUseNotice, options.seriesDescription) ?? '',
    // Frame of Reference
    FrameOfReferenceUID: source.frameOfReferenceUid,
    // General + Enhanced General Equipment
    Manufacturer: options.equipment.manufacturer,
    ManufacturerModelName: options.equipment.manufacturerModelName,
    DeviceSerialNumber: options.equipment.deviceSerialNumber,
    SoftwareVersions: [...options.equipment.softwareVersions],
    // General Image, Segmentation Image (Content Identification), Multi-frame Functional Groups
    InstanceNumber: options.instanceNumber,
    ContentDate: content.date,
    ContentTime: content.time,
    ImageType: [...IMAGE_TYPE],
    ContentLabel: options.contentLabel,
    ContentDescription: withNotice(options.clinicalUseNotice, options.contentDescription) ?? '',
    ContentCreatorName: options.contentCreatorName ?? '',
    LossyImageCompression: LOSSY_IMAGE_COMPRESSION_NONE,
    SegmentSequence: segments.map((segment, s) => segmentDescription(segment, s + 1, options.algorithm)),
    // Image Pixel: MONOCHROME2 (LABELMAP could be PALETTE COLOR; we keep the one every type allows)
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: rows,
    Columns: columns,
    // SegmentationType (+ fractional type / overlap) and BitsAllocated, BitsStored, HighBit of this type
    ...attributes,
    PixelRepresentation: 0,
    NumberOfFrames: frames.length,
    SharedFunctionalGroupsSequence: [
      sharedFunctionalGroups({
        orientation: source.orientation,
        pixelSpacing: source.pixelSpacing,
        ...(source.sliceThickness === undefined ? {} : { sliceThickness: source.sliceThickness }),
        ...(spacingBetweenSlices === undefined ? {} : { spacingBetweenSlices }),
      }),
    ],
    // Multi-frame Dimension (one organization, UID derived from the SOP instance so rebuilds are identical)
    ...dimensions(deterministicUid(options.sopInstanceUid, 'seg-dimension-organization'), type !== SegmentationType.LABELMAP),
    // Common Instance Reference
    ...referencedSeries(source.seriesInstanceUid, source.slices),
  };

  // The naturalized whole (per-frame items as datasets, a second copy of the pixels) only when someone asks for it.
  let whole: NaturalDataset | undefined;
  const dataset = (): NaturalDataset =>
    (whole ??= {
      ...header,
      PerFrameFunctionalGroupsSequence: frames.map(perFrameFunctionalGroups),
      PixelData: [pixelBuffer(pixels).buffer],
      _vrMap: { PixelData: 'OB' },
    });
  // Written now, so that data the pixels cannot encode (labels without a segment) fails the construction.
  const part10 = toPart10(header, frames, pixels, dataset);
  return {
    get dataset() {
      return dataset();
    },
    numberOfFrames: frames.length,
    frameSegments: frames.map((f) => f.segmentNumber ?? 0),
    toPart10: () => part10,
  };
}
