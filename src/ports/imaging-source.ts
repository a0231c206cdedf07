import type { StudyInfo } from '../domain/study';

/** Where studies are read from: a PACS over DICOMweb/Orthanc REST, or a folder of files. */
export interface ImagingSource {
  /** Metadata of every series and instance in the study; AppError NOT_FOUND if the source has no such study. */
  getStudy(studyInstanceUid: string): Promise<StudyInfo>;
  /**
   * DICOM Part 10 bytes of the given instances of one series, in any order.
   * Every requested instance is returned or the call fails (no silent partial series).
   */
  retrieveInstances(studyInstanceUid: string, seriesInstanceUid: string, sopInstanceUids: readonly string[]): Promise<Uint8Array[]>;
  /** Resolves when the source answers; rejects with PACS_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
}
