import type { VetLimits } from '../../src/dicom/vet';
import type { VetResult } from '../../src/ports/dicom-vetting';

/** Parent → vetting child: one file to vet (a path where the file exists, else its bytes). */
export interface VetRequest {
  id: number;
  path?: string;
  bytes?: Uint8Array;
  limits: VetLimits;
}

/** Vetting child → parent. */
export interface VetResponse {
  id: number;
  result: VetResult;
}
