import type { StudyInfo } from '../domain/study';

/** Which intake a study or job came from (StudyEvent / JobSpec source and sourceRef); lets a router pick the source. */
export interface SourceOrigin {
  source: string;
  sourceRef?: string;
}

/** Where studies are read from: a PACS over DICOMweb/Orthanc REST, or a folder of files. */
export interface ImagingSource {
  /** Metadata of every series and instance in the study; AppError NOT_FOUND if the source has no such study. */
  getStudy(studyInstanceUid: string, origin?: SourceOrigin): Promise<StudyInfo>;
  /**
   * DICOM Part 10 bytes of the given instances of one series, in any order.
   * Every requested instance is returned or the call fails (no silent partial series).
   */
  retrieveInstances(studyInstanceUid: string, seriesInstanceUid: string, sopInstanceUids: readonly string[], origin?: SourceOrigin): Promise<Uint8Array[]>;
  /** Resolves when the source answers; rejects with PACS_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
}
