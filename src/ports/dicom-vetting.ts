/**
 * Vetting of untrusted DICOM files before the service parses them itself. A vetter runs the full risky parse
 * (readPart10 and the pixel-size checks) somewhere a native abort or runaway allocation costs only that work,
 * and says whether the file is safe to parse in the service's own process.
 */

/** What to vet: a file on disk (preferred: nothing is copied through the service) or bytes in memory. */
export type VetInput = { path: string } | { bytes: Uint8Array };

export type VetResult =
  | { ok: true }
  | {
      ok: false;
      /** BAD_DICOM or TOO_LARGE (the code the caller's error carries). */
      code: 'BAD_DICOM' | 'TOO_LARGE';
      /** Why, safe to log and to answer (no header values, no paths). */
      message: string;
      /**
       * Set when the file took the parser down ("crash": the parser process died, e.g. a V8 fatal error or the
       * memory cap; "timeout": over limits.parseTimeoutMs) or was quarantined for that earlier ("quarantined").
       * Such a file is kept in the quarantine and never parsed again.
       */
      fatal?: 'crash' | 'timeout' | 'quarantined';
      /** sha256 of the file, where it was quarantined. */
      sha256?: string;
    };

export interface DicomVetter {
  /** Never rejects for a bad file (that is a result); rejects only when the vetter itself cannot work. */
  vet(input: VetInput): Promise<VetResult>;
  close(): Promise<void>;
}

/** The message every intake uses for a file that took the parser down, so operators recognise it. */
export const QUARANTINED_MESSAGE = 'the file crashed the DICOM parser and was quarantined';
