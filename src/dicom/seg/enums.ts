/** Names and values from PS3.3 (Segmentation IOD, A.51 / C.8.20), spelled as the standard spells them. */

/** Segmentation Storage (BINARY and FRACTIONAL). */
export const SEGMENTATION_STORAGE_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.66.4';
/** Label Map Segmentation Storage (Sup 243, DICOM 2024): same IOD, SegmentationType LABELMAP. */
export const LABEL_MAP_SEGMENTATION_STORAGE_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.66.7';

export const SegmentationType = { BINARY: 'BINARY', LABELMAP: 'LABELMAP', FRACTIONAL: 'FRACTIONAL' } as const;
export type SegmentationType = (typeof SegmentationType)[keyof typeof SegmentationType];

export const SegmentAlgorithmType = { AUTOMATIC: 'AUTOMATIC', SEMIAUTOMATIC: 'SEMIAUTOMATIC', MANUAL: 'MANUAL' } as const;
export type SegmentAlgorithmType = (typeof SegmentAlgorithmType)[keyof typeof SegmentAlgorithmType];

/** Attribute tags used as DimensionIndexPointer / FunctionalGroupPointer (AT values, group << 16 | element). */
export const Tag = {
  ReferencedSegmentNumber: 0x0062000b,
  SegmentIdentificationSequence: 0x0062000a,
  ImagePositionPatient: 0x00200032,
  PlanePositionSequence: 0x00209113,
} as const;

/** ImageType of every SEG we write: derived from images, primary content. */
export const IMAGE_TYPE = ['DERIVED', 'PRIMARY'] as const;

/** LossyImageCompression "00": the pixels were never lossy compressed. */
export const LOSSY_IMAGE_COMPRESSION_NONE = '00';

/** FRACTIONAL values are probabilities scaled to 0..MAXIMUM_FRACTIONAL_VALUE (8-bit pixels). */
export const SegmentationFractionalType = { PROBABILITY: 'PROBABILITY', OCCUPANCY: 'OCCUPANCY' } as const;
export const MAXIMUM_FRACTIONAL_VALUE = 255;
