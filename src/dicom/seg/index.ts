/** DICOM Segmentation (BINARY, LABELMAP, FRACTIONAL): our own encoder (dcmjs only writes the bytes). See docs/seg.md. */
export { buildSegmentation } from './sop';
export { decodeFractional, decodeSegmentation, type DecodedFractional, type DecodedSegmentation, type SegGrid } from './decode';
export type { SegEquipment, SegOptions, SegSource, Segmentation, SegmentProbabilities } from './types';
export {
  LABEL_MAP_SEGMENTATION_STORAGE_SOP_CLASS_UID,
  MAXIMUM_FRACTIONAL_VALUE,
  SEGMENTATION_STORAGE_SOP_CLASS_UID,
  SegmentAlgorithmType,
  SegmentationType,
} from './enums';
export { packFrames, packedByteLength, type FrameSelector } from './bitpack';
export { isValidUid } from './validate';
