import type { Code } from './codes';

/** Which studies/series a model accepts. First cut; the full rule language comes with the routing issue. */
export interface SeriesSelection {
  /** Accepted modalities, case-insensitive exact match (e.g. ["MR"]). */
  modality: string[];
  /** Accepted BodyPartExamined values, case-insensitive; absent = any. */
  bodyPartExamined?: string[];
  /** Case-insensitive regular expression on SeriesDescription; absent = any. */
  seriesDescription?: string;
  /** Minimum number of image instances (or frames) in the series. */
  minSlices?: number;
}

export interface SegmentDefinition {
  /** The value in the model's label map. */
  labelValue: number;
  label: string;
  category: Code;
  type: Code;
  typeModifier?: Code;
  /** CIELab recommended display colour as DICOM stores it (0..65535 each), optional. */
  recommendedDisplayCIELabValue?: [number, number, number];
}

export interface ClassDefinition {
  /** Output index in the model's probability vector. */
  index: number;
  label: string;
  code: Code;
  /** Probability at or above which the finding is reported as present. */
  threshold: number;
}

export interface Preprocessing {
  /** Intensity normalisation applied before inference. */
  normalize: 'zscore' | 'minmax' | 'none';
  /** In-plane size the model expects; slices are resampled (bilinear) to it and results back (nearest). */
  inputSize?: [number, number];
}

export interface ModelIO {
  /** ONNX input name. */
  input: string;
  /** ONNX output name. */
  output: string;
  /**
   * "slices": a 2D model run slice by slice, input [N,1,H,W];
   * "volume": a 3D model, input [1,1,D,H,W];
   * "slice-stack": a classifier over a fixed set of resampled slices, input [1,C,H,W].
   */
  layout: 'slices' | 'volume' | 'slice-stack';
  /**
   * For segmentation: "labels" (uint8/int64 label map), "logits" (argmax over channel axis 1) or "sigmoid"
   * (per-channel probability, threshold 0.5). For classification: "probabilities" or "logits" (softmax).
   */
  outputKind: 'labels' | 'logits' | 'sigmoid' | 'probabilities';
  /** For slice-stack: how many evenly spaced slices form the channels. */
  stackSlices?: number;
}

export interface ModelManifest {
  id: string;
  name: string;
  version: string;
  description: string;
  task: 'segmentation' | 'classification';
  /** ONNX file relative to the manifest. */
  file: string;
  /** sha256 of the ONNX file, hex. Checked at load. */
  sha256: string;
  manufacturer: string;
  select: SeriesSelection;
  io: ModelIO;
  preprocessing: Preprocessing;
  segments?: SegmentDefinition[];
  classes?: ClassDefinition[];
  /** Report code (defaults to LOINC 18748-4). */
  reportCode?: Code;
  intendedUse: string;
}

/** A manifest with what was found on disk. */
export interface LoadedModel {
  manifest: ModelManifest;
  /** Absolute path to the ONNX file. */
  modelPath: string;
  /** Actual sha256 of the file (equals manifest.sha256 once validated). */
  digest: string;
}
