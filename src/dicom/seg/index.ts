/** BINARY DICOM Segmentation: our own encoder (dcmjs only writes the bytes). See docs/seg.md. */
export { buildSegmentation } from './sop';
export { decodeSegmentation, type DecodedSegmentation, type SegGrid } from './decode';
export type { SegEquipment, SegOptions, SegSource, Segmentation } from './types';
export { SEGMENTATION_STORAGE_SOP_CLASS_UID, SegmentAlgorithmType, SegmentationType } from './enums';
export { packFrames, packedByteLength, type FrameSelector } from './bitpack';
export { isValidUid } from './validate';
