import type { Code } from './codes';

/**
 * The routing language (docs/routing.md; schema: models/manifest.schema.json#/definitions).
 * A string term is a case-insensitive exact value, "!value" to exclude it, or { regex } (case-insensitive search).
 */
export type StringTerm = string | { regex: string; not?: boolean };
/** One term or a list; positive terms are any-of, "!" terms exclude whatever else matched. */
export type StringCondition = StringTerm | StringTerm[];
/** A number (equal), a comparison such as ">= 3" or "< 5.5" or "!= 2", or an inclusive range [min, max]. */
export type NumberCondition = number | string | [number, number];
export type PlaneOrientation = 'axial' | 'sagittal' | 'coronal' | 'oblique';

/** Series-level attributes a selection can test, by DICOM keyword (NumberOfSlices is computed). */
export interface SeriesConditions {
  Modality?: StringCondition;
  SeriesDescription?: StringCondition;
  BodyPartExamined?: StringCondition;
  ProtocolName?: StringCondition;
  Manufacturer?: StringCondition;
  ManufacturerModelName?: StringCondition;
  StationName?: StringCondition;
  ContrastBolusAgent?: StringCondition;
  /** Multi-valued: every ImageType value of the series. */
  ImageType?: StringCondition;
  /** Multi-valued: the SOP Class UIDs of the series' instances. */
  SOPClassUID?: StringCondition;
  SeriesNumber?: NumberCondition;
  SliceThickness?: NumberCondition;
  /** Both values (row and column spacing) must satisfy the condition. */
  PixelSpacing?: NumberCondition;
  Rows?: NumberCondition;
  Columns?: NumberCondition;
  NumberOfSlices?: NumberCondition;
}

/** Study-level attributes, plus facts of the intake event (Source, CallingAETitle). */
export interface StudyConditions {
  StudyDescription?: StringCondition;
  /** Multi-valued: the modalities of the study's series. */
  ModalitiesInStudy?: StringCondition;
  /** Multi-valued: StationName of any series. */
  StationName?: StringCondition;
  /** Multi-valued: Manufacturer of any series. */
  Manufacturer?: StringCondition;
  NumberOfSeries?: NumberCondition;
  /** Intake that produced the event: "orthanc", "dicomweb", "stow", "dimse", "folder", "cli" ("dry-run" in dry-runs). */
  Source?: StringCondition;
  /** Calling AE title of a C-STORE push (when the intake knows it). */
  CallingAETitle?: StringCondition;
}

/** Series kinds excluded unless the selection turns the exclusion off. */
export interface DefaultExclusions {
  /** ImageType contains LOCALIZER (default true). */
  localizer?: boolean;
  /** ImageType value 1 is DERIVED (default false; see docs/routing.md for why). */
  derived?: boolean;
  /** Secondary Capture SOP classes 1.2.840.10008.5.1.4.1.1.7* (default true). */
  secondaryCapture?: boolean;
  /** SEG, RTSTRUCT, SR, presentation states and other non-image objects (default true). */
  nonImage?: boolean;
}

/** Which studies/series a model accepts, and which accepted series it runs on. */
export interface SeriesSelection {
  /** Accepted modalities, case-insensitive any-of; "!X" excludes X (series.Modality takes the full language). */
  modality: string[];
  /** Accepted BodyPartExamined values, case-insensitive any-of, "!X" excludes; absent = any. */
  bodyPartExamined?: string[];
  /** Case-insensitive regular expression on SeriesDescription (original form); absent = any. */
  seriesDescription?: string;
  /** Minimum number of image instances (or frames) in the series. */
  minSlices?: number;
  /** Conditions on the study and the intake event; when one fails, no series is taken. */
  study?: StudyConditions;
  /** Conditions on each series. */
  series?: SeriesConditions;
  /** Accepted plane(s), from ImageOrientationPatient. */
  orientation?: PlaneOrientation | PlaneOrientation[];
  /** Largest angle (degrees) between the slice normal and a patient axis that still counts as that plane (default 20). */
  orientationToleranceDegrees?: number;
  exclude?: DefaultExclusions;
  /** Which accepted series comes first (default most-slices). */
  prefer?: 'most-slices' | 'thinnest-slices';
  /** first (default): one job on the preferred series; all: one job per accepted series. */
  matches?: 'first' | 'all';
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

/** One intensity operation; applied in order to the volume (after geometry steps). */
export type IntensityOp =
  /** Clamp values to [min, max]. */
  | { op: 'clip'; min: number; max: number }
  /** Display window: values mapped linearly so [center - width/2, center + width/2] → [0, 1], then clamped. */
  | { op: 'window'; center: number; width: number }
  /**
   * (x - mean) / std. With mean/std given, fixed statistics (nnU-Net CT style); otherwise computed over the volume,
   * or only over non-zero voxels when nonzero is true (nnU-Net MR / MONAI NormalizeIntensity(nonzero=True)).
   */
  | { op: 'zscore'; nonzero?: boolean; mean?: number; std?: number }
  /** Percentile scaling: the lower/upper percentiles map to outMin/outMax (default 0/1); clip outside when clip. */
  | { op: 'percentile'; lower: number; upper: number; outMin?: number; outMax?: number; clip?: boolean }
  /** Min-max scaling to [0, 1]. */
  | { op: 'minmax' }
  /** x * multiply + add (e.g. TorchXRayVision's [-1024, 1024] range). */
  | { op: 'scale'; multiply: number; add: number };

export interface Preprocessing {
  /** Shorthand for intensity: [{ op: normalize }] (kept for simple 2D models). */
  normalize?: 'zscore' | 'minmax' | 'none';
  /** In-plane size a 2D model expects; slices are resampled (bilinear) to it and results back (nearest). */
  inputSize?: [number, number];
  /**
   * Voxel spacing (mm) the model was trained at, in the (reoriented) voxel axis order [i, j, k]; the volume is
   * resampled (linear) to it before inference and labels back to the source grid (nearest). Absent: source spacing.
   */
  targetSpacing?: [number, number, number];
  /**
   * Reorient (axis permutations and flips only, no interpolation) so voxel axes i, j, k point towards these patient
   * directions: "RAS" (MONAI/nnU-Net NIfTI habit) or "LPS" (DICOM). Absent: keep the source orientation.
   */
  orientation?: 'RAS' | 'LPS';
  /** Intensity operations in order (e.g. HU clip then z-score). Rescale slope/intercept (HU) is already applied. */
  intensity?: IntensityOp[];
  /** Several input channels from one series, each with its own intensity chain (e.g. CT windows). */
  channels?: { intensity: IntensityOp[] }[];
  /** What to do when slice spacing is not uniform: refuse the series (default) or resample it to uniform spacing. */
  nonUniformSpacing?: 'reject' | 'resample';
  /** 3D models: crop or pad (centred, with padValue) the volume to this size [k, j, i] before inference. */
  cropOrPadTo?: [number, number, number];
  padValue?: number;
}

export interface Postprocessing {
  /** Per-channel probability thresholds for outputKind "sigmoid" (default 0.5 each). */
  thresholds?: number[];
  /** Output label → reported label value (e.g. {"2": 1}); labels not listed keep their value. */
  labelRemap?: Record<string, number>;
  /** Keep only the largest 26-connected component of these label values (true = every label). */
  largestComponent?: number[] | boolean;
}

/** Sliding-window inference for 3D models (MONAI sliding_window_inference semantics). */
export interface SlidingWindow {
  /** Patch size [k, j, i] (depth, height, width) fed to the model. */
  roiSize: [number, number, number];
  /** Fraction of overlap between neighbouring patches, 0 ≤ overlap < 1. */
  overlap: number;
  /** How overlapping patch outputs are combined: equal weights, or a Gaussian centred on each patch. */
  blend: 'constant' | 'gaussian';
  /** Gaussian sigma as a fraction of roiSize (MONAI default 0.125). */
  sigmaScale?: number;
  /** Patches per inference call. */
  batchSize: number;
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
  /** For layout "volume": sliding-window settings; absent = the whole (preprocessed) volume in one run. */
  slidingWindow?: SlidingWindow;
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
  postprocessing?: Postprocessing;
  /** SEG type written for this model (default BINARY; see docs/seg.md). */
  segmentationType?: 'BINARY' | 'LABELMAP' | 'FRACTIONAL';
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
