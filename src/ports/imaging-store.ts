/** Where result objects (DICOM SEG) are written: a PACS via STOW-RS, or a folder. */
export interface StoreOutcome {
  /** SOP Instance UIDs the store accepted. */
  stored: string[];
  /** Where the object went (URL or file path), for the job record. */
  location?: string;
}

export interface ImagingStore {
  /**
   * Stores Part 10 instances of one study. Resolves only when every instance was accepted; a partial
   * acceptance (e.g. STOW 200/202 with a non-empty FailedSOPSequence) rejects with PACS_REJECTED.
   */
  store(studyInstanceUid: string, instances: readonly Uint8Array[]): Promise<StoreOutcome>;
  /**
   * Deletes one instance we stored earlier (a superseded SEG). Resolves true when it was deleted, false when it was
   * not there (already deleted: a retry). Absent where the store cannot delete (plain DICOMweb has no DELETE).
   */
  deleteInstance?(studyInstanceUid: string, seriesInstanceUid: string, sopInstanceUid: string): Promise<boolean>;
  ping(): Promise<void>;
}
