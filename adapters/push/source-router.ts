import type { StudyInfo } from '../../src/domain/study';
import type { ImagingSource, SourceOrigin } from '../../src/ports/imaging-source';

/**
 * Sends each read to the source its job came from: pushed studies (sources "stow", "dimse") are read from the
 * received files, everything else from the PACS (or the folder inbox). Calls without an origin go to the default.
 */
export class SourceRouter implements ImagingSource {
  constructor(
    private readonly fallback: ImagingSource,
    private readonly bySource: ReadonlyMap<string, ImagingSource>,
  ) {}

  private pick(origin: SourceOrigin | undefined): ImagingSource {
    return (origin && this.bySource.get(origin.source)) ?? this.fallback;
  }

  getStudy(studyInstanceUid: string, origin?: SourceOrigin): Promise<StudyInfo> {
    return this.pick(origin).getStudy(studyInstanceUid, origin);
  }

  retrieveInstances(studyInstanceUid: string, seriesInstanceUid: string, sopInstanceUids: readonly string[], origin?: SourceOrigin): Promise<Uint8Array[]> {
    return this.pick(origin).retrieveInstances(studyInstanceUid, seriesInstanceUid, sopInstanceUids, origin);
  }

  /** Readiness is the PACS's: the received folder is local. */
  ping(): Promise<void> {
    return this.fallback.ping();
  }
}
