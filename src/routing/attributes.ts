import type { SeriesConditions, StudyConditions } from '../domain/manifest';
import type { SeriesInfo, StudyEvent, StudyInfo } from '../domain/study';

/**
 * Where each attribute of the routing language comes from. The keys are DICOM keywords so rules read like the
 * headers they test; the value lists are what a condition sees (empty = attribute absent).
 */
type Values<T> = (from: T) => string[];
type Numbers<T> = (from: T) => number[];

const one = (v: string | undefined): string[] => (v === undefined || v === '' ? [] : [v]);
const oneNumber = (v: number | undefined): number[] => (v === undefined || !Number.isFinite(v) ? [] : [v]);
const unique = (vs: readonly string[]): string[] => [...new Set(vs)];

/** Image instances (or frames of multi-frame instances) in a series. */
export function sliceCount(series: SeriesInfo): number {
  return series.instances.reduce((n, i) => n + Math.max(1, i.numberOfFrames ?? 1), 0);
}

/** SliceThickness, or when absent the median distance between neighbouring slice positions; undefined if neither. */
export function sliceThicknessOf(series: SeriesInfo): number | undefined {
  if (series.sliceThickness !== undefined && series.sliceThickness > 0) return series.sliceThickness;
  const iop = series.instances.find((i) => i.imageOrientationPatient)?.imageOrientationPatient;
  if (!iop) return undefined;
  const [rx, ry, rz, cx, cy, cz] = iop;
  const n = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx] as const;
  const positions = series.instances
    .map((i) => i.imagePositionPatient)
    .filter((p) => p !== undefined)
    .map((p) => p[0] * n[0] + p[1] * n[1] + p[2] * n[2])
    .sort((a, b) => a - b);
  const gaps = positions.slice(1).map((p, i) => p - (positions[i] as number)).filter((g) => g > 1e-4).sort((a, b) => a - b);
  return gaps.length > 0 ? gaps[Math.floor(gaps.length / 2)] : undefined;
}

export const SERIES_STRING_ATTRIBUTES: Record<string, Values<SeriesInfo>> = {
  Modality: (s) => one(s.modality),
  SeriesDescription: (s) => one(s.seriesDescription),
  BodyPartExamined: (s) => one(s.bodyPartExamined),
  ProtocolName: (s) => one(s.protocolName),
  Manufacturer: (s) => one(s.manufacturer),
  ManufacturerModelName: (s) => one(s.manufacturerModelName),
  StationName: (s) => one(s.stationName),
  ContrastBolusAgent: (s) => one(s.contrastBolusAgent),
  ImageType: (s) => s.imageType ?? [],
  SOPClassUID: (s) => unique(s.instances.map((i) => i.sopClassUid)),
} satisfies Partial<Record<keyof SeriesConditions, Values<SeriesInfo>>>;

export const SERIES_NUMBER_ATTRIBUTES: Record<string, Numbers<SeriesInfo>> = {
  SeriesNumber: (s) => oneNumber(s.seriesNumber),
  SliceThickness: (s) => oneNumber(sliceThicknessOf(s)),
  PixelSpacing: (s) => s.pixelSpacing ?? [],
  Rows: (s) => oneNumber(s.instances[0]?.rows),
  Columns: (s) => oneNumber(s.instances[0]?.columns),
  NumberOfSlices: (s) => [sliceCount(s)],
} satisfies Partial<Record<keyof SeriesConditions, Numbers<SeriesInfo>>>;

export interface StudyFacts {
  study: StudyInfo;
  event?: Pick<StudyEvent, 'source' | 'callingAeTitle'>;
}

export const STUDY_STRING_ATTRIBUTES: Record<string, Values<StudyFacts>> = {
  StudyDescription: (f) => one(f.study.studyDescription),
  ModalitiesInStudy: (f) => unique(f.study.series.map((s) => s.modality).filter((m) => m !== '')),
  StationName: (f) => unique(f.study.series.flatMap((s) => one(s.stationName))),
  Manufacturer: (f) => unique(f.study.series.flatMap((s) => one(s.manufacturer))),
  Source: (f) => one(f.event?.source),
  CallingAETitle: (f) => one(f.event?.callingAeTitle),
} satisfies Partial<Record<keyof StudyConditions, Values<StudyFacts>>>;

export const STUDY_NUMBER_ATTRIBUTES: Record<string, Numbers<StudyFacts>> = {
  NumberOfSeries: (f) => [f.study.series.length],
} satisfies Partial<Record<keyof StudyConditions, Numbers<StudyFacts>>>;
