/**
 * What the core knows about a study before retrieving pixels: enough to route it and select series.
 * Filled from QIDO/WADO metadata, Orthanc's REST API or file headers, whichever the source is.
 */
export type Vec3 = [number, number, number];
/** ImageOrientationPatient: row direction cosines then column direction cosines. */
export type Orientation6 = [number, number, number, number, number, number];

export interface InstanceInfo {
  sopInstanceUid: string;
  sopClassUid: string;
  instanceNumber?: number;
  imagePositionPatient?: Vec3;
  imageOrientationPatient?: Orientation6;
  numberOfFrames?: number;
  rows?: number;
  columns?: number;
}

export interface SeriesInfo {
  seriesInstanceUid: string;
  modality: string;
  seriesNumber?: number;
  seriesDescription?: string;
  bodyPartExamined?: string;
  /** ImageType values, e.g. ["ORIGINAL","PRIMARY","AXIAL"]. */
  imageType?: string[];
  /** The following come from the series' first instance; absent when the source does not give them. */
  protocolName?: string;
  manufacturer?: string;
  manufacturerModelName?: string;
  stationName?: string;
  contrastBolusAgent?: string;
  /** SliceThickness in mm. */
  sliceThickness?: number;
  /** PixelSpacing in mm: [row spacing, column spacing]. */
  pixelSpacing?: [number, number];
  /**
   * How many instances the series should have, where the PACS or the headers say (Orthanc's expected count, DICOM
   * ImagesInAcquisition for a single-acquisition series); a study with fewer is held before routing.
   */
  expectedInstances?: number;
  instances: InstanceInfo[];
}

export interface StudyInfo {
  studyInstanceUid: string;
  /** Only for writing results; never logged. */
  patientId?: string;
  issuerOfPatientId?: string;
  /** DICOM PN as stored (e.g. "Doe^Jane"); only for writing results; never logged. */
  patientName?: string;
  /** YYYYMMDD. */
  patientBirthDate?: string;
  /** M, F or O. */
  patientSex?: string;
  accessionNumber?: string;
  studyDate?: string;
  studyTime?: string;
  studyDescription?: string;
  series: SeriesInfo[];
}

/** "A study is ready to be looked at": emitted by every intake path, consumed by the router. */
export interface StudyEvent {
  studyInstanceUid: string;
  /** Which intake produced it, e.g. "orthanc", "folder", "stow". */
  source: string;
  /** Source-specific handle (Orthanc study id, folder path); optional. */
  sourceRef?: string;
  /** Calling AE title of a C-STORE association, when the intake knows it (route rules can test it). */
  callingAeTitle?: string;
  /**
   * The intake knows instances of this study failed to arrive (a push refused for lack of disk, an aborted
   * association): why, without patient data. Such a study is held, not routed, until it is sent again whole.
   */
  incomplete?: string;
  receivedAt: string;
}
