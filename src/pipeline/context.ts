import type { Config } from '../config';
import type { Job, Stage } from '../domain/job';
import type { LoadedModel } from '../domain/manifest';
import type { Logger } from '../logging';
import type { AuditLog } from '../ports/audit-log';
import type { DicomVetter } from '../ports/dicom-vetting';
import type { FhirSink } from '../ports/fhir-sink';
import type { ImagingSource } from '../ports/imaging-source';
import type { ImagingStore } from '../ports/imaging-store';
import type { JobCheckpoints } from '../ports/job-checkpoints';
import type { JobStore } from '../ports/job-store';
import type { ModelRuntime } from '../ports/model-runtime';
import type { Reduction } from '../inference/worker-protocol';
import type { VolumeRuntime } from '../inference/volume';

/** A runtime that can also reduce logits and tile 3D volumes in the worker (WorkerPoolRuntime). */
export interface PipelineRuntime extends ModelRuntime, VolumeRuntime {
  run(modelId: string, input: Parameters<ModelRuntime['run']>[1], reduce?: Reduction): ReturnType<ModelRuntime['run']>;
}

/** Everything a pipeline run needs from the outside, chosen once in the composition root. */
export interface PipelineDeps {
  source: ImagingSource;
  /** Where SEGs go; required for segmentation models. */
  store: ImagingStore;
  /** Where FHIR results go; null = no FHIR output (config fhir: none). */
  fhir: FhirSink | null;
  runtime: PipelineRuntime;
  jobs: JobStore;
  /** Where a job keeps what it computed and wrote until it ends (resume instead of repeat); none = always recompute. */
  checkpoints?: JobCheckpoints;
  models: ReadonlyMap<string, LoadedModel>;
  /**
   * When the job's study changed after it was routed and is settling again: until when its outputs should wait (a
   * newer job may supersede this one before it publishes anything). Absent: outputs are written at once.
   */
  studyChanging?: (studyInstanceUid: string) => Promise<{ until: number } | undefined>;
  /** How long after routing a job's outputs may wait for its study to settle (completion.windowMs). */
  publicationHoldMs?: number;
  results: Config['results'];
  limits: Config['limits'];
  /**
   * Vets each retrieved instance out of process before the decode stage parses it (docs/hostile-input.md); absent =
   * parsed directly (tests, in-memory wiring).
   */
  vetter?: DicomVetter;
  /** DICOMweb base URL of the PACS for FHIR ImagingStudy.endpoint, when there is one. */
  dicomWebEndpoint?: string;
  logger: Logger;
  /** Audit trail of what the pipeline does to patient data (docs/audit.md); absent = nothing recorded. */
  audit?: AuditLog;
  /** Clock, injectable for tests. */
  now?: () => Date;
}

/** Per-run state handed from stage to stage. */
export interface JobContext {
  job: Job;
  model: LoadedModel;
  deps: PipelineDeps;
  log: Logger;
  enter(stage: Stage): Promise<void>;
}
