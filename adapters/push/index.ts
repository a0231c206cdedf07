import path from 'node:path';
import type { Router } from 'express';
import type { StudyEvent } from '../../src/domain/study';
import type { Logger } from '../../src/logging';
import type { DicomVetter } from '../../src/ports/dicom-vetting';
import type { ImagingSource } from '../../src/ports/imaging-source';
import type { JobStore } from '../../src/ports/job-store';
import { FolderImagingSource } from '../folder/folder-imaging-source';
import type { SpaceGate } from '../storage/storage-monitor';
import { DimseStoreScp } from './dimse-scp';
import { PushAssembler, type CleanupPolicy } from './push-assembler';
import { ReceivedStore } from './received-store';
import { SourceRouter } from './source-router';
import { createStowRouter } from './stow-router';

export { SourceRouter } from './source-router';

/** The configuration keys the push intakes read (a subset of src/config.ts Config). */
export interface PushConfig {
  dataDir: string;
  limits: { maxInstanceBytes: number };
  push: { receivedDir: string; quietMs: number; pollIntervalMs: number; cleanup: CleanupPolicy };
  stow: { enabled: boolean; maxBodyBytes: number };
  dimse: {
    enabled: boolean;
    host?: string;
    port: number;
    aeTitle: string;
    peers?: { aeTitle: string; hosts: string[] }[];
    allowedCallingAeTitles: string[];
    allowAnyCaller?: boolean;
    transferSyntaxes: string[];
  };
}

/** Intake names of pushed studies; their jobs read the received files. */
export const PUSH_SOURCES = ['stow', 'dimse', 'push'] as const;

export interface PushIntake {
  /** Reads pushed studies from the received files. */
  source: ImagingSource;
  /** Mount under /dicomweb when STOW-RS is enabled. */
  stowRouter?: Router;
  /** Starts the C-STORE listener (if enabled) and the study assembly. */
  start(onEvent: (event: StudyEvent) => Promise<void>): Promise<void>;
  /** Stops taking pushes (DIMSE finishes stores in progress within graceMs) and the assembly. */
  stop(graceMs?: number): Promise<void>;
  /** The bound C-STORE port, once started. */
  dimsePort(): number | undefined;
}

/**
 * Builds the push intakes from config, or returns undefined when both STOW-RS and C-STORE are off. The received
 * folder is re-indexed here, so studies received before a restart are routed (and cleaned up) as usual.
 */
export async function createPushIntake(
  config: PushConfig,
  deps: {
    jobs: JobStore;
    logger: Logger;
    pending?: (studyInstanceUid: string) => Promise<boolean>;
    /** The storage monitor (adapters/storage): under pressure both intakes refuse instances before writing them. */
    storage?: SpaceGate;
    /** Vets every received file out of process before it is parsed or stored (docs/hostile-input.md). */
    vetter?: DicomVetter;
  },
): Promise<PushIntake | undefined> {
  if (!config.stow.enabled && !config.dimse.enabled) return undefined;
  const logger = deps.logger.child({ intake: 'push' });
  const root = config.push.receivedDir ? path.resolve(config.push.receivedDir) : path.join(config.dataDir, 'received');
  const store = new ReceivedStore(root, { maxInstanceBytes: config.limits.maxInstanceBytes, logger, ...(deps.vetter ? { vetter: deps.vetter } : {}) });
  await store.init();
  const assembler = new PushAssembler(store, { quietMs: config.push.quietMs, pollIntervalMs: config.push.pollIntervalMs, cleanup: config.push.cleanup, jobs: deps.jobs, logger, ...(deps.pending ? { pending: deps.pending } : {}) });
  const scp = config.dimse.enabled
    ? new DimseStoreScp({
        ...(config.dimse.host ? { host: config.dimse.host } : {}),
        port: config.dimse.port,
        aeTitle: config.dimse.aeTitle,
        peers: config.dimse.peers ?? [],
        allowedCallingAeTitles: config.dimse.allowedCallingAeTitles,
        allowAnyCaller: config.dimse.allowAnyCaller ?? false,
        transferSyntaxes: config.dimse.transferSyntaxes,
        store,
        ...(deps.storage ? { storage: deps.storage } : {}),
        logger,
      })
    : undefined;
  let port: number | undefined;
  const intake: PushIntake = {
    source: new FolderImagingSource(store.index),
    async start(onEvent) {
      if (scp) port = await scp.start();
      await assembler.start(onEvent);
    },
    async stop(graceMs = 10_000) {
      await scp?.stop(graceMs);
      await assembler.stop();
    },
    dimsePort: () => port,
  };
  if (config.stow.enabled) intake.stowRouter = createStowRouter({ store, maxBodyBytes: config.stow.maxBodyBytes, ...(deps.storage ? { storage: deps.storage } : {}), logger });
  return intake;
}

/** The service's ImagingSource: pushed jobs read the received files, all others the PACS (or folder inbox). */
export function routeSources(pacsSource: ImagingSource, push: PushIntake | undefined): ImagingSource {
  if (!push) return pacsSource;
  return new SourceRouter(pacsSource, new Map(PUSH_SOURCES.map((s) => [s, push.source])));
}
