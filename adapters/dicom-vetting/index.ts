import path from 'node:path';
import type { Logger } from '../../src/logging';
import { ChildProcessVetter } from './child-process-vetter';
import { Quarantine, QuarantiningVetter } from './quarantine';

export { ChildProcessVetter } from './child-process-vetter';
export { Quarantine, QuarantiningVetter } from './quarantine';

/** The configuration keys DICOM vetting reads (a subset of src/config.ts Config). */
export interface VettingConfig {
  dataDir: string;
  limits: { maxInstanceBytes: number; maxVoxels: number; parserProcesses: number; parserMemoryMb: number; parseTimeoutMs: number };
}

export interface DicomVetting {
  /** The vetter for one intake; `source` labels what it quarantines (stow/dimse, folder, pacs). */
  forSource(source: string): QuarantiningVetter;
  quarantine: Quarantine;
  close(): Promise<void>;
}

/**
 * One pool of vetting child processes and one quarantine (dataDir/quarantine) for every intake of the service.
 * The quarantine's denylist is loaded before anything is vetted, so a file that crashed the parser before a
 * restart is refused without being parsed again.
 */
export async function createDicomVetting(config: VettingConfig, logger: Logger): Promise<DicomVetting> {
  const quarantine = new Quarantine(path.join(config.dataDir, 'quarantine'), logger);
  await quarantine.init();
  if (quarantine.size > 0) logger.warn({ files: quarantine.size, dir: 'dataDir/quarantine' }, 'quarantined DICOM files are refused unparsed (docs/hostile-input.md)');
  const pool = new ChildProcessVetter({
    limits: { maxInstanceBytes: config.limits.maxInstanceBytes, maxVoxels: config.limits.maxVoxels },
    processes: config.limits.parserProcesses,
    memoryMb: config.limits.parserMemoryMb,
    timeoutMs: config.limits.parseTimeoutMs,
    logger,
  });
  const root = new QuarantiningVetter(pool, quarantine, 'unknown');
  return { forSource: (source) => root.forSource(source), quarantine, close: () => pool.close() };
}
