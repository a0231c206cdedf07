import { createHash, randomUUID } from 'node:crypto';
import { access, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readPart10, str } from '../../src/dicom/part10';
import { AppError } from '../../src/domain/errors';
import { logHash } from '../../src/domain/identity';
import type { Logger } from '../../src/logging';
import type { DicomVetter } from '../../src/ports/dicom-vetting';
import { KeyedMutex } from '../../src/concurrency/keyed-mutex';
import { FolderIndex } from '../folder/folder-index';
import { fsyncPath, isOutOfSpace, shortFileError } from '../storage/disk-write';
import { IncompleteMarks, type IncompleteMark } from './incomplete-marks';

/** Why a pushed instance was not kept; each push protocol maps it to its own status code. */
export type RejectionReason =
  /** not DICOM Part 10, unparseable, or lacking the UIDs we file it by */
  | 'unreadable'
  /** its StudyInstanceUID is not the one the request named (STOW-RS /studies/{uid}) */
  | 'study-mismatch'
  /** its SOP Class/Instance UID differ from what the C-STORE command announced */
  | 'sop-mismatch'
  /** larger than limits.maxInstanceBytes */
  | 'too-large'
  /** the disk refused (full, read-only, permissions) */
  | 'out-of-resources';

export class PushRejection extends AppError {
  constructor(
    readonly reason: RejectionReason,
    message: string,
    cause?: unknown,
  ) {
    super(reason === 'out-of-resources' ? 'OVERLOADED' : reason === 'too-large' ? 'TOO_LARGE' : 'BAD_DICOM', message, cause === undefined ? {} : { cause });
  }

  /** The disk had no room (ENOSPC, EDQUOT, or a file shorter than what was written): the storage monitor should look. */
  get noSpace(): boolean {
    return this.reason === 'out-of-resources' && isOutOfSpace(this.cause);
  }
}

/** Whether a failed store was the disk running out of room (raw errno or a PushRejection carrying one). */
export function failedForLackOfSpace(err: unknown): boolean {
  return err instanceof PushRejection ? err.noSpace : isOutOfSpace(err);
}

/** The transfer (STOW-RS request, C-STORE association) an instance arrives in; see push-transfer.ts. */
export interface TransferTicket {
  /** Called under the study's lock before the instance is moved into the study's folder. */
  enter(studyInstanceUid: string): Promise<void>;
}

/** What was kept of one pushed instance. */
export interface ReceivedInstance {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  bytes: number;
}

/** Where a study's instances came from (kept beside them so a restart labels its event the same way). */
export interface StudyOrigin {
  /** Intake name: "stow" or "dimse". */
  source: string;
  /** Calling AE title of the C-STORE association that sent the latest instance. */
  callingAeTitle?: string;
}

export interface CommitExpectations {
  /** STOW-RS to /studies/{uid}: every instance must belong to this study. */
  studyInstanceUid?: string;
  /** C-STORE: the dataset must be the instance the command announced. */
  sopClassUid?: string;
  sopInstanceUid?: string;
  /** How many bytes the intake wrote to the temporary file: a shorter file lost bytes to a full disk. */
  bytes?: number;
}

const ORIGIN_FILE = '.origin.json';
const INCOMING_DIR = '.incoming';

const hashName = (uid: string, length: number): string => createHash('sha256').update(uid).digest('hex').slice(0, length);

function isDiskError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && ['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'EMFILE', 'ENFILE'].includes(code);
}

/**
 * The received directory of the push intakes (STOW-RS and C-STORE): one folder per study, one file per instance,
 * bytes exactly as received. An instance is written to a temporary file, flushed, and renamed into place, so a
 * file under a study folder is always complete; its name is a hash of its SOP Instance UID, so a re-sent instance
 * replaces itself. Callers acknowledge an instance only after commit() resolved: by then it is durably on disk.
 * Folder and file names are hashes, so no UID or patient data appears in paths.
 */
export class ReceivedStore {
  readonly index: FolderIndex;
  /** Studies some of whose instances failed to arrive (incomplete-marks.ts). */
  readonly marks: IncompleteMarks;
  private readonly locks = new KeyedMutex();

  constructor(
    readonly root: string,
    private readonly options: { maxInstanceBytes: number; logger: Logger; vetter?: DicomVetter },
  ) {
    this.index = new FolderIndex(root, options.maxInstanceBytes, options.vetter);
    this.marks = new IncompleteMarks(root, (uid) => this.studyDir(uid), options.logger);
  }

  /** Creates the folders and removes temporary files a crash left behind (never acknowledged, so nothing is lost). */
  async init(): Promise<void> {
    await mkdir(path.join(this.root, INCOMING_DIR), { recursive: true });
    const stale = await readdir(path.join(this.root, INCOMING_DIR));
    await Promise.all(stale.map((f) => rm(path.join(this.root, INCOMING_DIR, f), { force: true })));
    if (stale.length > 0) this.options.logger.info({ files: stale.length }, 'removed unacknowledged partial uploads');
    await this.marks.load();
    await this.index.scan();
  }

  /** The study's incomplete mark, if instances of it are known to have failed to arrive. */
  incompleteMark(studyInstanceUid: string): IncompleteMark | undefined {
    return this.marks.get(studyInstanceUid);
  }

  async hasStudyFolder(studyInstanceUid: string): Promise<boolean> {
    return access(this.studyDir(studyInstanceUid)).then(
      () => true,
      () => false,
    );
  }

  get maxInstanceBytes(): number {
    return this.options.maxInstanceBytes;
  }

  /** A fresh temporary path for one incoming instance (inside the received dir, so the final rename is atomic). */
  tempPath(): string {
    return path.join(this.root, INCOMING_DIR, `${randomUUID()}.part`);
  }

  studyDir(studyInstanceUid: string): string {
    return path.join(this.root, hashName(studyInstanceUid, 32));
  }

  /** Serialises work on one study's folder (commits against cleanup). */
  withStudyLock<T>(studyInstanceUid: string, task: () => Promise<T>): Promise<T> {
    return this.locks.run(studyInstanceUid, task);
  }

  /** Removes a temporary file that will not be committed. */
  async discardTemp(tmp: string): Promise<void> {
    await rm(tmp, { force: true }).catch(() => undefined);
  }

  /** Keeps bytes already in memory (e.g. a small test upload) by way of a temporary file. */
  async commitBytes(bytes: Uint8Array, origin: StudyOrigin, expect: CommitExpectations = {}, transfer?: TransferTicket): Promise<ReceivedInstance> {
    const tmp = this.tempPath();
    try {
      await writeFile(tmp, bytes);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new PushRejection('out-of-resources', 'the instance could not be written to disk', err);
    }
    return this.commitFile(tmp, origin, expect, transfer);
  }

  /**
   * Validates a fully written temporary file as DICOM Part 10, flushes it, and moves it into its study folder.
   * The temporary file is gone afterwards either way. Rejects with PushRejection saying why it was not kept.
   */
  async commitFile(tmp: string, origin: StudyOrigin, expect: CommitExpectations = {}, transfer?: TransferTicket): Promise<ReceivedInstance> {
    try {
      let bytes: Buffer;
      try {
        const fh = await open(tmp, 'r');
        try {
          const { size } = await fh.stat();
          if (expect.bytes !== undefined && size !== expect.bytes) throw new PushRejection('out-of-resources', 'the instance was not written whole to disk', shortFileError(expect.bytes, size));
          if (size > this.options.maxInstanceBytes) throw new PushRejection('too-large', `instance of ${size} bytes exceeds limits.maxInstanceBytes (${this.options.maxInstanceBytes})`);
          bytes = await fh.readFile();
        } finally {
          await fh.close();
        }
      } catch (err) {
        if (err instanceof PushRejection) throw err;
        throw new PushRejection('out-of-resources', 'the received instance could not be read back from disk', err);
      }
      // Vetted out of process first: a file that would crash the parser is refused (and quarantined) here, before
      // this process parses it and before anything is acknowledged or stored for routing.
      const verdict = await this.options.vetter?.vet({ path: tmp });
      if (verdict && !verdict.ok) throw new PushRejection(verdict.code === 'TOO_LARGE' ? 'too-large' : 'unreadable', verdict.message);
      let parsed;
      try {
        parsed = readPart10(bytes, { maxBytes: this.options.maxInstanceBytes });
      } catch (err) {
        throw new PushRejection('unreadable', err instanceof AppError ? err.message : 'not a readable DICOM Part 10 file', err);
      }
      const ds = parsed.dataset;
      const instance: ReceivedInstance = {
        studyInstanceUid: str(ds, 'StudyInstanceUID') ?? '',
        seriesInstanceUid: str(ds, 'SeriesInstanceUID') ?? '',
        sopInstanceUid: str(ds, 'SOPInstanceUID') ?? '',
        sopClassUid: str(ds, 'SOPClassUID') ?? '',
        transferSyntaxUid: parsed.transferSyntaxUid,
        bytes: bytes.length,
      };
      for (const k of ['studyInstanceUid', 'seriesInstanceUid', 'sopInstanceUid', 'sopClassUid'] as const) {
        if (!instance[k]) throw new PushRejection('unreadable', `the instance has no ${k.replace(/^./, (c) => c.toUpperCase()).replace('Uid', 'UID')}`);
      }
      if (expect.studyInstanceUid !== undefined && expect.studyInstanceUid !== instance.studyInstanceUid) {
        throw new PushRejection('study-mismatch', 'the instance belongs to another study than the one in the request path');
      }
      if ((expect.sopInstanceUid !== undefined && expect.sopInstanceUid !== instance.sopInstanceUid) || (expect.sopClassUid !== undefined && expect.sopClassUid !== instance.sopClassUid)) {
        throw new PushRejection('sop-mismatch', 'the dataset is not the SOP instance the C-STORE request announced');
      }
      await this.place(tmp, instance, origin, transfer);
      return instance;
    } finally {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  private async place(tmp: string, instance: ReceivedInstance, origin: StudyOrigin, transfer: TransferTicket | undefined): Promise<void> {
    const dir = this.studyDir(instance.studyInstanceUid);
    const target = path.join(dir, `${hashName(instance.sopInstanceUid, 40)}.dcm`);
    try {
      await fsyncPath(tmp, 'r+');
      await this.withStudyLock(instance.studyInstanceUid, async () => {
        await mkdir(dir, { recursive: true });
        await transfer?.enter(instance.studyInstanceUid);
        await writeFile(path.join(dir, ORIGIN_FILE), JSON.stringify({ ...origin, studyInstanceUid: instance.studyInstanceUid }));
        await rename(tmp, target);
        // The rename is durable only once the folder entry is flushed.
        await fsyncPath(dir, 'r');
      });
    } catch (err) {
      if (isDiskError(err)) throw new PushRejection('out-of-resources', 'the instance could not be stored: the disk refused the write', err);
      throw err;
    }
    this.options.logger.debug({ study: logHash(instance.studyInstanceUid), source: origin.source, bytes: instance.bytes }, 'instance received');
  }

  /** Where the study's latest instance came from; "push" when the folder has no origin record. */
  async originOf(studyInstanceUid: string): Promise<StudyOrigin> {
    try {
      const raw = JSON.parse(await readFile(path.join(this.studyDir(studyInstanceUid), ORIGIN_FILE), 'utf8')) as Partial<StudyOrigin>;
      const origin: StudyOrigin = { source: typeof raw.source === 'string' ? raw.source : 'push' };
      if (typeof raw.callingAeTitle === 'string') origin.callingAeTitle = raw.callingAeTitle;
      return origin;
    } catch {
      return { source: 'push' };
    }
  }

  /** Deletes the study's folder (all its received instances). Callers hold the study lock. */
  async removeStudyFiles(studyInstanceUid: string): Promise<void> {
    await rm(this.studyDir(studyInstanceUid), { recursive: true, force: true });
    this.marks.forget(studyInstanceUid);
  }

  /** Writes marks the full disk refused earlier (each under its study's lock). */
  async saveUnsavedMarks(): Promise<void> {
    for (const uid of this.marks.unsaved()) await this.withStudyLock(uid, () => this.marks.save(uid));
  }
}
