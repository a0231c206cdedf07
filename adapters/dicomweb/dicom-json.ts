import { expectedInstancesFrom, type AcquisitionHint } from '../../src/domain/settling';
import type { InstanceInfo, Orientation6, SeriesInfo, StudyInfo, Vec3 } from '../../src/domain/study';

/**
 * DICOM JSON (PS3.18 F.2) as QIDO-RS and WADO-RS metadata answer it, and its mapping onto the domain types.
 * Tolerant on read: DS/IS may come as numbers (Orthanc) or strings (some PACS); missing values become undefined.
 */
export interface DicomJsonElement {
  vr: string;
  Value?: unknown[];
  BulkDataURI?: string;
  InlineBinary?: string;
}
export type DicomJsonDataset = Record<string, DicomJsonElement | undefined>;

export const TAG = {
  ImageType: '00080008',
  Manufacturer: '00080070',
  StationName: '00081010',
  ManufacturerModelName: '00081090',
  ContrastBolusAgent: '00180010',
  SliceThickness: '00180050',
  ProtocolName: '00181030',
  PixelSpacing: '00280030',
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  StudyDate: '00080020',
  StudyTime: '00080030',
  AccessionNumber: '00080050',
  Modality: '00080060',
  StudyDescription: '00081030',
  SeriesDescription: '0008103E',
  FailureReason: '00081197',
  FailedSOPSequence: '00081198',
  ReferencedSOPSequence: '00081199',
  ReferencedSOPClassUID: '00081150',
  ReferencedSOPInstanceUID: '00081155',
  WarningReason: '00081196',
  PatientName: '00100010',
  PatientID: '00100020',
  IssuerOfPatientID: '00100021',
  PatientBirthDate: '00100030',
  PatientSex: '00100040',
  BodyPartExamined: '00180015',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SeriesNumber: '00200011',
  InstanceNumber: '00200013',
  ImagePositionPatient: '00200032',
  AcquisitionNumber: '00200012',
  ImagesInAcquisition: '00201002',
  ImageOrientationPatient: '00200037',
  NumberOfFrames: '00280008',
  Rows: '00280010',
  Columns: '00280011',
} as const;

function values(ds: DicomJsonDataset, tag: string): unknown[] {
  const element = ds[tag] ?? ds[tag.toLowerCase()];
  return Array.isArray(element?.Value) ? element.Value : [];
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** First value as a string; PN values give their Alphabetic group. */
export function jsonString(ds: DicomJsonDataset, tag: string): string | undefined {
  const first = values(ds, tag)[0];
  if (typeof first === 'string') return first === '' ? undefined : first;
  if (typeof first === 'number') return String(first);
  if (first && typeof first === 'object' && 'Alphabetic' in first) {
    const alphabetic = (first as { Alphabetic?: unknown }).Alphabetic;
    return typeof alphabetic === 'string' && alphabetic !== '' ? alphabetic : undefined;
  }
  return undefined;
}

export function jsonStrings(ds: DicomJsonDataset, tag: string): string[] | undefined {
  const all = values(ds, tag).filter((v): v is string => typeof v === 'string');
  return all.length > 0 ? all : undefined;
}

export function jsonNumber(ds: DicomJsonDataset, tag: string): number | undefined {
  return toNumber(values(ds, tag)[0]);
}

/** Exactly n finite numbers, or undefined (a malformed IPP/IOP is treated as absent, not guessed). */
export function jsonNumbers(ds: DicomJsonDataset, tag: string, n: number): number[] | undefined {
  const raw = values(ds, tag);
  if (raw.length !== n) return undefined;
  const out = raw.map(toNumber);
  return out.every((v): v is number => v !== undefined) ? out : undefined;
}

export function jsonSequence(ds: DicomJsonDataset, tag: string): DicomJsonDataset[] {
  return values(ds, tag).filter((v): v is DicomJsonDataset => typeof v === 'object' && v !== null);
}

function withoutUndefined<T extends object>(o: T): T {
  for (const key of Object.keys(o) as (keyof T)[]) if (o[key] === undefined) delete o[key];
  return o;
}

export function instanceInfoFromJson(ds: DicomJsonDataset): InstanceInfo | undefined {
  const sopInstanceUid = jsonString(ds, TAG.SOPInstanceUID);
  const sopClassUid = jsonString(ds, TAG.SOPClassUID);
  if (!sopInstanceUid || !sopClassUid) return undefined;
  return withoutUndefined<InstanceInfo>({
    sopInstanceUid,
    sopClassUid,
    instanceNumber: jsonNumber(ds, TAG.InstanceNumber),
    imagePositionPatient: jsonNumbers(ds, TAG.ImagePositionPatient, 3) as Vec3 | undefined,
    imageOrientationPatient: jsonNumbers(ds, TAG.ImageOrientationPatient, 6) as Orientation6 | undefined,
    numberOfFrames: jsonNumber(ds, TAG.NumberOfFrames),
    rows: jsonNumber(ds, TAG.Rows),
    columns: jsonNumber(ds, TAG.Columns),
  });
}

function byInstanceNumber(a: InstanceInfo, b: InstanceInfo): number {
  return (a.instanceNumber ?? Number.MAX_SAFE_INTEGER) - (b.instanceNumber ?? Number.MAX_SAFE_INTEGER);
}

/**
 * Builds StudyInfo from WADO-RS study metadata (one DICOM JSON dataset per instance). Study and patient attributes
 * come from the first instance; series keep the order in which they first appear, instances are sorted by
 * InstanceNumber. Instances of another study, or without SOP Class/Instance UID, are left out.
 */
export function studyInfoFromMetadata(studyInstanceUid: string, instances: readonly DicomJsonDataset[]): StudyInfo {
  const ofStudy = instances.filter((ds) => (jsonString(ds, TAG.StudyInstanceUID) ?? studyInstanceUid) === studyInstanceUid);
  const first: DicomJsonDataset = ofStudy[0] ?? {};
  const seriesByUid = new Map<string, SeriesInfo>();
  const hints = new Map<string, AcquisitionHint[]>();
  for (const ds of ofStudy) {
    const seriesInstanceUid = jsonString(ds, TAG.SeriesInstanceUID);
    const instance = instanceInfoFromJson(ds);
    if (!seriesInstanceUid || !instance) continue;
    let series = seriesByUid.get(seriesInstanceUid);
    if (!series) {
      series = withoutUndefined<SeriesInfo>({
        seriesInstanceUid,
        modality: jsonString(ds, TAG.Modality) ?? '',
        seriesNumber: jsonNumber(ds, TAG.SeriesNumber),
        seriesDescription: jsonString(ds, TAG.SeriesDescription),
        bodyPartExamined: jsonString(ds, TAG.BodyPartExamined),
        imageType: jsonStrings(ds, TAG.ImageType),
        protocolName: jsonString(ds, TAG.ProtocolName),
        manufacturer: jsonString(ds, TAG.Manufacturer),
        manufacturerModelName: jsonString(ds, TAG.ManufacturerModelName),
        stationName: jsonString(ds, TAG.StationName),
        contrastBolusAgent: jsonString(ds, TAG.ContrastBolusAgent),
        sliceThickness: jsonNumber(ds, TAG.SliceThickness),
        pixelSpacing: jsonNumbers(ds, TAG.PixelSpacing, 2) as [number, number] | undefined,
        instances: [],
      });
      seriesByUid.set(seriesInstanceUid, series);
    }
    series.instances.push(instance);
    const hint: AcquisitionHint = {};
    const images = jsonNumber(ds, TAG.ImagesInAcquisition);
    if (images !== undefined) hint.imagesInAcquisition = images;
    const acquisition = jsonString(ds, TAG.AcquisitionNumber) ?? jsonNumber(ds, TAG.AcquisitionNumber)?.toString();
    if (acquisition !== undefined) hint.acquisitionNumber = acquisition;
    hints.set(seriesInstanceUid, [...(hints.get(seriesInstanceUid) ?? []), hint]);
  }
  for (const series of seriesByUid.values()) {
    series.instances.sort(byInstanceNumber);
    const expected = expectedInstancesFrom(hints.get(series.seriesInstanceUid) ?? []);
    if (expected !== undefined) series.expectedInstances = expected;
  }
  return withoutUndefined<StudyInfo>({
    studyInstanceUid,
    patientId: jsonString(first, TAG.PatientID),
    issuerOfPatientId: jsonString(first, TAG.IssuerOfPatientID),
    patientName: jsonString(first, TAG.PatientName),
    patientBirthDate: jsonString(first, TAG.PatientBirthDate),
    patientSex: jsonString(first, TAG.PatientSex),
    accessionNumber: jsonString(first, TAG.AccessionNumber),
    studyDate: jsonString(first, TAG.StudyDate),
    studyTime: jsonString(first, TAG.StudyTime),
    studyDescription: jsonString(first, TAG.StudyDescription),
    series: [...seriesByUid.values()],
  });
}

export interface StowFailure {
  sopInstanceUid?: string;
  /** FailureReason (0008,1197), e.g. 0xC000. */
  reasonCode?: number;
  reason: string;
}

export interface StowOutcome {
  referenced: string[];
  failed: StowFailure[];
}

/** PS3.4 Annex GG / PS3.18 failure reasons most PACS use. */
const FAILURE_REASONS: Record<number, string> = {
  0x0110: 'processing failure',
  0x0112: 'no such object instance',
  0x0117: 'invalid object instance',
  0x0119: 'class-instance conflict',
  0x0122: 'SOP class not supported',
  0x0124: 'not authorized',
  0x0131: 'duplicate transaction UID',
  0xa700: 'out of resources',
  0xa900: 'data set does not match SOP class',
  0xc000: 'cannot understand',
  0xc122: 'referenced transfer syntax not supported',
};

export function describeFailureReason(code: number | undefined): string {
  if (code === undefined) return 'no reason given';
  const hex = `0x${code.toString(16).toUpperCase().padStart(4, '0')}`;
  const text = FAILURE_REASONS[code];
  return text ? `${text} (${hex})` : `failure reason ${hex}`;
}

/** Reads a STOW-RS response (Store Instances Response Module): which instances were stored, which failed and why. */
export function parseStowResponse(body: DicomJsonDataset | undefined): StowOutcome {
  if (!body) return { referenced: [], failed: [] };
  const referenced = jsonSequence(body, TAG.ReferencedSOPSequence)
    .map((item) => jsonString(item, TAG.ReferencedSOPInstanceUID))
    .filter((uid): uid is string => uid !== undefined);
  const failed = jsonSequence(body, TAG.FailedSOPSequence).map((item) => {
    const reasonCode = jsonNumber(item, TAG.FailureReason);
    return withoutUndefined<StowFailure>({
      sopInstanceUid: jsonString(item, TAG.ReferencedSOPInstanceUID),
      reasonCode,
      reason: describeFailureReason(reasonCode),
    });
  });
  return { referenced, failed };
}
