import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../src/logging';
import { QUARANTINED_MESSAGE, type DicomVetter, type VetInput, type VetResult } from '../../src/ports/dicom-vetting';

/** The sidecar written beside a quarantined file: no patient data, no source path. */
export interface QuarantineRecord {
  sha256: string;
  quarantinedAt: string;
  /** crash or timeout: what the file did to the parser. */
  reason: 'crash' | 'timeout';
  code: 'BAD_DICOM';
  /** The parser's own account (signal, limit hit). */
  detail: string;
  bytes: number;
  /** Intake that handed it over (stow, dimse, folder, pacs...). */
  source: string;
}

/**
 * The quarantine folder (dataDir/quarantine): `<sha256>.dcm` is the file exactly as received, `<sha256>.json`
 * its QuarantineRecord. The set of sha256 values with a sidecar is the denylist: such a file is refused without
 * being parsed again, so a file that crashed the parser cannot crash it in a loop after a restart.
 * Releasing a file = deleting its sidecar (docs/hostile-input.md).
 */
export class Quarantine {
  private readonly denied = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
  ) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const f of await readdir(this.dir)) {
      const m = /^([0-9a-f]{64})\.json$/.exec(f);
      if (m) this.denied.add(m[1] as string);
    }
  }

  has(sha256: string): boolean {
    return this.denied.has(sha256);
  }

  get size(): number {
    return this.denied.size;
  }

  /** Keeps the file and its record (the record last: a crash between the two leaves a file that is vetted again). */
  async add(input: VetInput, sha256: string, record: Omit<QuarantineRecord, 'sha256' | 'quarantinedAt' | 'bytes' | 'code'>): Promise<void> {
    this.denied.add(sha256);
    const bytes = 'path' in input ? (await stat(input.path)).size : input.bytes.length;
    const full: QuarantineRecord = { sha256, quarantinedAt: new Date().toISOString(), code: 'BAD_DICOM', bytes, ...record };
    await mkdir(this.dir, { recursive: true });
    const file = path.join(this.dir, `${sha256}.dcm`);
    if ('path' in input) await copyFile(input.path, `${file}.tmp`);
    else await writeFile(`${file}.tmp`, input.bytes);
    await rename(`${file}.tmp`, file);
    await writeFile(path.join(this.dir, `${sha256}.json.tmp`), `${JSON.stringify(full, null, 2)}\n`);
    await rename(path.join(this.dir, `${sha256}.json.tmp`), path.join(this.dir, `${sha256}.json`));
    this.logger.error({ sha256: sha256.slice(0, 16), reason: record.reason, source: record.source, bytes }, 'DICOM file quarantined: it crashed the parser');
  }
}

export async function sha256Of(input: VetInput): Promise<string> {
  const hash = createHash('sha256');
  if ('bytes' in input) return hash.update(input.bytes).digest('hex');
  for await (const chunk of createReadStream(input.path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A DicomVetter that keeps what crashed the inner vetter: the file is hashed first; a hash on the denylist is
 * refused at once; a file the inner vetter reports as fatal is quarantined and refused with QUARANTINED_MESSAGE.
 */
export class QuarantiningVetter implements DicomVetter {
  constructor(
    private readonly inner: DicomVetter,
    private readonly quarantine: Quarantine,
    private readonly source: string,
  ) {}

  /** The same vetter and quarantine, labelling quarantined files with another intake's name. */
  forSource(source: string): QuarantiningVetter {
    return new QuarantiningVetter(this.inner, this.quarantine, source);
  }

  async vet(input: VetInput): Promise<VetResult> {
    // Hashing reads the bytes but interprets nothing; a file is streamed, not loaded.
    const sha256 = await sha256Of(input);
    if (this.quarantine.has(sha256)) return { ok: false, code: 'BAD_DICOM', message: QUARANTINED_MESSAGE, fatal: 'quarantined', sha256 };
    const result = await this.inner.vet(input);
    if (result.ok || result.fatal === undefined || result.fatal === 'quarantined') return result;
    await this.quarantine.add(input, sha256, { reason: result.fatal, detail: result.message, source: this.source });
    return { ok: false, code: 'BAD_DICOM', message: `${QUARANTINED_MESSAGE} (${result.message})`, fatal: result.fatal, sha256 };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
