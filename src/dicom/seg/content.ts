/**
 * Content items of the Segmentation IOD: segment descriptions, functional groups, dimensions and references.
 * Each builder returns a naturalized (dcmjs keyword) fragment; sop.ts assembles them into the dataset.
 */
import type { NaturalDataset } from 'dcmjs';
import { CODES, type Code } from '../../domain/codes';
import type { SegmentDefinition } from '../../domain/manifest';
import type { Orientation6, Vec3 } from '../../domain/study';
import type { SliceSource } from '../../domain/volume';
import { SegmentAlgorithmType, Tag } from './enums';

export interface AlgorithmIdentification {
  name: string;
  version: string;
}

/** A Code Sequence Macro item (PS3.3 Table 8.8-1). */
export function codeItem(code: Code): NaturalDataset {
  return { CodeValue: code.value, CodingSchemeDesignator: code.scheme, CodeMeaning: code.meaning };
}

/** Algorithm Identification Macro: our algorithms are always family DCM 123110 "Artificial Intelligence". */
export function algorithmIdentification(algorithm: AlgorithmIdentification): NaturalDataset {
  return {
    AlgorithmFamilyCodeSequence: [codeItem(CODES.artificialIntelligence)],
    AlgorithmName: algorithm.name,
    AlgorithmVersion: algorithm.version,
  };
}

/** One Segment Sequence item (C.8.20.2 Segment Description Macro) for an automatic, AI-made segment. */
export function segmentDescription(
  segment: SegmentDefinition,
  segmentNumber: number,
  algorithm: AlgorithmIdentification,
): NaturalDataset {
  // The type modifier (e.g. laterality) lives inside the property type item, as the standard nests it.
  const typeItem = codeItem(segment.type);
  if (segment.typeModifier) typeItem.SegmentedPropertyTypeModifierCodeSequence = [codeItem(segment.typeModifier)];
  const item: NaturalDataset = {
    SegmentNumber: segmentNumber,
    SegmentLabel: segment.label,
    SegmentedPropertyCategoryCodeSequence: [codeItem(segment.category)],
    SegmentedPropertyTypeCodeSequence: [typeItem],
    SegmentAlgorithmType: SegmentAlgorithmType.AUTOMATIC,
    SegmentAlgorithmName: algorithm.name,
    SegmentationAlgorithmIdentificationSequence: [algorithmIdentification(algorithm)],
  };
  if (segment.recommendedDisplayCIELabValue) item.RecommendedDisplayCIELabValue = [...segment.recommendedDisplayCIELabValue];
  return item;
}

export interface SharedGeometry {
  orientation: Orientation6;
  /** [row spacing, column spacing] as DICOM PixelSpacing. */
  pixelSpacing: [number, number];
  sliceThickness?: number;
  spacingBetweenSlices?: number;
}

/** Shared Functional Groups: every frame has the source's orientation and pixel measures. */
export function sharedFunctionalGroups(geometry: SharedGeometry): NaturalDataset {
  const pixelMeasures: NaturalDataset = { PixelSpacing: [...geometry.pixelSpacing] };
  if (geometry.sliceThickness !== undefined) pixelMeasures.SliceThickness = geometry.sliceThickness;
  if (geometry.spacingBetweenSlices !== undefined) pixelMeasures.SpacingBetweenSlices = geometry.spacingBetweenSlices;
  return {
    PlaneOrientationSequence: [{ ImageOrientationPatient: [...geometry.orientation] }],
    PixelMeasuresSequence: [pixelMeasures],
  };
}

export interface FrameContent {
  /** Undefined for LABELMAP frames, which hold every segment (no SegmentIdentificationSequence). */
  segmentNumber: number | undefined;
  /** 0-based index of the source slice in the sorted slice list. */
  sliceIndex: number;
  source: SliceSource;
}

/** Source Image Sequence item: the source instance (and frame) this SEG frame was derived from. */
function sourceImageItem(source: SliceSource): NaturalDataset {
  const item: NaturalDataset = {
    ReferencedSOPClassUID: source.sopClassUid,
    ReferencedSOPInstanceUID: source.sopInstanceUid,
    PurposeOfReferenceCodeSequence: [codeItem(CODES.sourceImageForProcessing)],
  };
  if (source.frameNumber !== undefined) item.ReferencedFrameNumber = source.frameNumber;
  return item;
}

/** Dimension Index Values of a frame: (segment number, slice) or, for LABELMAP frames, (slice); 1-based. */
export function dimensionIndexValues(frame: FrameContent): number[] {
  return frame.segmentNumber === undefined ? [frame.sliceIndex + 1] : [frame.segmentNumber, frame.sliceIndex + 1];
}

/** One Per-Frame Functional Groups item: derivation, dimension index values, position, segment. */
export function perFrameFunctionalGroups(frame: FrameContent): NaturalDataset {
  const position: Vec3 = frame.source.imagePositionPatient;
  const item: NaturalDataset = {
    DerivationImageSequence: [
      {
        DerivationCodeSequence: [codeItem(CODES.segmentation)],
        SourceImageSequence: [sourceImageItem(frame.source)],
      },
    ],
    FrameContentSequence: [
      {
        DimensionIndexValues: dimensionIndexValues(frame),
      },
    ],
    PlanePositionSequence: [{ ImagePositionPatient: [...position] }],
  };
  if (frame.segmentNumber !== undefined) item.SegmentIdentificationSequence = [{ ReferencedSegmentNumber: frame.segmentNumber }];
  return item;
}

/**
 * Multi-frame Dimension Module: frames are indexed by segment number, then position along the normal; LABELMAP
 * frames (every segment in one frame) by position only.
 */
export function dimensions(dimensionOrganizationUid: string, bySegment = true): NaturalDataset {
  const segmentIndex: NaturalDataset[] = bySegment
    ? [
        {
          DimensionOrganizationUID: dimensionOrganizationUid,
          DimensionIndexPointer: Tag.ReferencedSegmentNumber,
          FunctionalGroupPointer: Tag.SegmentIdentificationSequence,
          DimensionDescriptionLabel: 'ReferencedSegmentNumber',
        },
      ]
    : [];
  return {
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionOrganizationType: '3D',
    DimensionIndexSequence: [
      ...segmentIndex,
      {
        DimensionOrganizationUID: dimensionOrganizationUid,
        DimensionIndexPointer: Tag.ImagePositionPatient,
        FunctionalGroupPointer: Tag.PlanePositionSequence,
        DimensionDescriptionLabel: 'ImagePositionPatient',
      },
    ],
  };
}

/** Common Instance Reference Module: every source instance once, in slice order (viewers need this list). */
export function referencedSeries(seriesInstanceUid: string, slices: readonly SliceSource[]): NaturalDataset {
  const seen = new Set<string>();
  const instances: NaturalDataset[] = [];
  for (const slice of slices) {
    if (seen.has(slice.sopInstanceUid)) continue; // multi-frame sources appear once per frame
    seen.add(slice.sopInstanceUid);
    instances.push({ ReferencedSOPClassUID: slice.sopClassUid, ReferencedSOPInstanceUID: slice.sopInstanceUid });
  }
  return { ReferencedSeriesSequence: [{ SeriesInstanceUID: seriesInstanceUid, ReferencedInstanceSequence: instances }] };
}
