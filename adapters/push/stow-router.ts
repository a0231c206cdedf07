import { open, rm, type FileHandle } from 'node:fs/promises';
import express, { type Request, type Response, type Router } from 'express';
import { AppError, toAppError } from '../../src/domain/errors';
import { logHash } from '../../src/domain/identity';
import { parseMediaType, parseMultipart, type PartSink } from '../../src/http/multipart-related';
import type { Logger } from '../../src/logging';
import { writeFully } from '../storage/disk-write';
import type { SpaceGate } from '../storage/storage-monitor';
import { PushTransfer } from './push-transfer';
import { failedForLackOfSpace, PushRejection, type ReceivedStore, type RejectionReason } from './received-store';

/** PS3.18 Store Instances Response failure reasons (FailureReason, 0008,1197). */
export const FAILURE_REASON = {
  /** Refused: out of resources (disk full, instance over the size limit). */
  outOfResources: 0xa700,
  /** Error: data set does not match SOP class / the target study (StudyInstanceUID differs from the URL's). */
  dataSetMismatch: 0xa900,
  /** Error: cannot understand (not DICOM Part 10, unparseable, a part that is not application/dicom). */
  cannotUnderstand: 0xc000,
} as const;

const REASON_CODE: Record<RejectionReason, number> = {
  unreadable: FAILURE_REASON.cannotUnderstand,
  'study-mismatch': FAILURE_REASON.dataSetMismatch,
  'sop-mismatch': FAILURE_REASON.dataSetMismatch,
  'too-large': FAILURE_REASON.outOfResources,
  'out-of-resources': FAILURE_REASON.outOfResources,
};

const UID = /^[0-9]+(\.[0-9]+)*$/;

export interface StowOptions {
  store: ReceivedStore;
  /** Largest request body accepted (bytes); larger ones get 413. */
  maxBodyBytes: number;
  /** The storage monitor: under pressure requests get 503 before anything is written. */
  storage?: SpaceGate;
  logger: Logger;
}

interface Outcome {
  sopClassUid?: string;
  sopInstanceUid?: string;
  /** Absent when stored. */
  failureReason?: number;
  /** Why it failed, for the log and the Warning header (no header values). */
  message?: string;
}

interface PartContext {
  store: ReceivedStore;
  storage: SpaceGate | undefined;
  transfer: PushTransfer;
  expectedStudy: string | undefined;
  outcomes: Outcome[];
  logger: Logger;
}

/** Sink for one part: streams it into a temporary file with a size cap; the file is committed when the part ends. */
function dicomPartSink(ctx: PartContext, index: number): PartSink {
  const { store, storage, transfer } = ctx;
  const tmp = store.tempPath();
  let fh: FileHandle | undefined;
  let size = 0;
  let failed: Outcome | undefined;
  const fail = async (reason: RejectionReason, message: string, cause?: unknown): Promise<void> => {
    if (!failed) {
      failed = { failureReason: REASON_CODE[reason], message: `part ${index + 1}: ${message}` };
      transfer.refused(reason);
      // The disk filled up under this part: look now, so the parts after it are refused before they are written.
      if (failedForLackOfSpace(cause)) storage?.reportNoSpace('received dir');
    }
    await fh?.close().catch(() => undefined);
    fh = undefined;
    await rm(tmp, { force: true });
  };
  return {
    async write(chunk) {
      if (failed) return; // the rest of a refused part is read and dropped
      size += chunk.length;
      if (size > store.maxInstanceBytes) return fail('too-large', `instance exceeds limits.maxInstanceBytes (${store.maxInstanceBytes} bytes)`);
      if (!fh && storage && !storage.spaceAvailable()) return fail('out-of-resources', 'not stored: the service is low on disk space');
      try {
        fh ??= await open(tmp, 'wx');
        await writeFully(fh, chunk);
      } catch (err) {
        await fail('out-of-resources', 'the instance could not be written to disk', err);
      }
    },
    async end() {
      if (!failed) {
        try {
          fh ??= await open(tmp, 'wx'); // an empty part still gets a (rejected) file
          await fh.close();
          fh = undefined;
          const expect = { bytes: size, ...(ctx.expectedStudy === undefined ? {} : { studyInstanceUid: ctx.expectedStudy }) };
          const kept = await store.commitFile(tmp, { source: 'stow' }, expect, transfer);
          ctx.outcomes.push({ sopClassUid: kept.sopClassUid, sopInstanceUid: kept.sopInstanceUid });
          return;
        } catch (err) {
          if (err instanceof PushRejection) await fail(err.reason, err.message, err);
          else {
            // An unexpected error's message can name files of the received dir: the sender gets a fixed text.
            ctx.logger.warn({ err: toAppError(err).message }, 'STOW-RS instance could not be kept');
            await fail('out-of-resources', 'the instance could not be stored (see the service log)', err);
          }
        }
      }
      ctx.outcomes.push(failed as Outcome);
    },
    async abort() {
      await fh?.close().catch(() => undefined);
      fh = undefined;
      await rm(tmp, { force: true });
    },
  };
}

/** How a request that was not read to its closing boundary stopped, for its studies' incomplete marks. */
function howCutShort(err: unknown): string {
  if (!(err instanceof AppError)) return 'lost its connection mid-transfer';
  if (err.details?.truncated === true) return 'ended before its closing boundary';
  if (err.code === 'TOO_LARGE') return 'was refused mid-body (over a size limit)';
  return 'was refused mid-body (malformed multipart body)';
}

/** A part that is not application/dicom: read and dropped, reported as "cannot understand". */
function refusedPartSink(index: number, contentType: string, outcomes: Outcome[]): PartSink {
  return {
    write: () => undefined,
    end: async () => void outcomes.push({ failureReason: FAILURE_REASON.cannotUnderstand, message: `part ${index + 1}: Content-Type ${contentType} is not application/dicom` }),
    abort: async () => undefined,
  };
}

/**
 * Storage pressure: 503 with Retry-After before a byte of the body is read (Node discards the body and the connection
 * closes after the answer). A study named in the path that already has files is marked: what it was to get is missing.
 */
async function refuseForSpace(res: Response, options: StowOptions & { storage: SpaceGate }, expectedStudy: string | undefined): Promise<void> {
  const { storage } = options;
  if (expectedStudy) {
    const transfer = new PushTransfer(options.store, 'STOW-RS request', expectedStudy);
    transfer.cutShort('was refused for lack of disk space (storage pressure)');
    await transfer.finish();
  }
  options.logger.info({ ...(expectedStudy ? { study: logHash(expectedStudy) } : {}), status: 503, retryAfterS: storage.retryAfterSeconds() }, 'STOW-RS request refused: storage pressure');
  res.set('Retry-After', String(storage.retryAfterSeconds()));
  res.set('Connection', 'close');
  throw new AppError('STORAGE_FULL', `instances are not accepted now: the service is low on disk space (${storage.reason()}); retry later`, { httpStatus: 503 });
}

/** The Store Instances Response as DICOM JSON: ReferencedSOPSequence (0008,1199), FailedSOPSequence (0008,1198). */
export function stowResponseBody(outcomes: readonly Outcome[]): Record<string, unknown> {
  const ref = (o: Outcome): Record<string, unknown> => ({
    '00081150': o.sopClassUid ? { vr: 'UI', Value: [o.sopClassUid] } : { vr: 'UI' },
    '00081155': o.sopInstanceUid ? { vr: 'UI', Value: [o.sopInstanceUid] } : { vr: 'UI' },
  });
  const stored = outcomes.filter((o) => o.failureReason === undefined);
  const failed = outcomes.filter((o) => o.failureReason !== undefined);
  const body: Record<string, unknown> = {};
  if (failed.length > 0) body['00081198'] = { vr: 'SQ', Value: failed.map((o) => ({ ...ref(o), '00081197': { vr: 'US', Value: [o.failureReason] } })) };
  if (stored.length > 0) body['00081199'] = { vr: 'SQ', Value: stored.map(ref) };
  return body;
}

function checkRequest(req: Request, maxBodyBytes: number): string {
  const header = req.headers['content-type'];
  if (!header) throw new AppError('BAD_REQUEST', 'Content-Type is missing: send multipart/related; type="application/dicom"; boundary=…', { httpStatus: 415 });
  const media = parseMediaType(header);
  if (media.type !== 'multipart/related') {
    throw new AppError('BAD_REQUEST', `Content-Type ${media.type} is not supported: send multipart/related; type="application/dicom"`, { httpStatus: 415 });
  }
  const partType = media.params.type;
  if (partType !== undefined && parseMediaType(partType).type !== 'application/dicom') {
    throw new AppError('BAD_REQUEST', `multipart/related type "${partType}" is not supported: only type="application/dicom" (DICOM Part 10 instances)`, { httpStatus: 415 });
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') throw new AppError('BAD_REQUEST', `Content-Encoding ${encoding} is not accepted; send the body uncompressed`, { httpStatus: 415 });
  const boundary = media.params.boundary;
  if (!boundary) throw new AppError('BAD_REQUEST', 'Content-Type multipart/related has no boundary parameter');
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBodyBytes) throw new AppError('TOO_LARGE', `request body of ${declared} bytes exceeds stow.maxBodyBytes (${maxBodyBytes})`);
  return boundary;
}

/**
 * STOW-RS Store Instances (PS3.18 10.5): POST /studies and POST /studies/{StudyInstanceUID} with a multipart/related
 * body of DICOM Part 10 instances. Each part is streamed to disk and kept in the ReceivedStore before it counts as
 * stored, so a 200 means every instance is durably on disk. 200 all stored, 202 some failed, 409 none stored; a body
 * that cannot be read as such a request gets 400/413/415 with the usual JSON error, and storage pressure 503 with
 * Retry-After before the body is read. A request that lost instances to a full disk, or that did not reach its
 * closing boundary, marks the studies it stored into as incomplete (push-transfer.ts).
 */
export function createStowRouter(options: StowOptions): Router {
  const router = express.Router();
  const handle = async (req: Request, res: Response, expectedStudy: string | undefined): Promise<void> => {
    const started = Date.now();
    const outcomes: Outcome[] = [];
    const { storage } = options;
    if (storage && !storage.spaceAvailable()) return refuseForSpace(res, { ...options, storage }, expectedStudy);
    const transfer = new PushTransfer(options.store, 'STOW-RS request', expectedStudy);
    try {
      const boundary = checkRequest(req, options.maxBodyBytes);
      const ctx: PartContext = { store: options.store, storage, transfer, expectedStudy, outcomes, logger: options.logger };
      try {
        await parseMultipart(
          // Stopping early must not destroy the request: the socket is still needed for the error answer.
          req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>,
          boundary,
          (headers, index) => {
            const type = headers['content-type'];
            if (type !== undefined && parseMediaType(type).type !== 'application/dicom') return refusedPartSink(index, parseMediaType(type).type, outcomes);
            return dicomPartSink(ctx, index);
          },
          { maxBodyBytes: options.maxBodyBytes },
        );
      } catch (err) {
        transfer.cutShort(howCutShort(err));
        throw err;
      } finally {
        // Before the answer: a sender told "stored" must find no stale mark, one told "failed" must find the mark.
        await transfer.finish();
      }
    } catch (err) {
      // The client may still be sending: answer, then close the connection instead of reading the rest.
      res.set('Connection', 'close');
      options.logger.info({ ...(expectedStudy ? { study: logHash(expectedStudy) } : {}), stored: outcomes.filter((o) => o.failureReason === undefined).length, ...transfer.figures(), err: toAppError(err).message }, 'STOW-RS request not read to its end');
      throw err;
    }
    if (outcomes.length === 0) throw new AppError('BAD_REQUEST', 'multipart body has no parts: nothing to store');
    const failed = outcomes.filter((o) => o.failureReason !== undefined);
    const status = failed.length === 0 ? 200 : failed.length === outcomes.length ? 409 : 202;
    if (failed.length > 0) {
      const first = failed.slice(0, 3).map((o) => o.message).join('; ');
      res.set('Warning', `299 clinical-ai "${failed.length} of ${outcomes.length} instances not stored: ${first.replace(/["\\\r\n]/g, ' ')}"`);
    }
    options.logger.info(
      { ...(expectedStudy ? { study: logHash(expectedStudy) } : {}), stored: outcomes.length - failed.length, failed: failed.length, outOfResources: transfer.figures().failedOutOfResources, status, ms: Date.now() - started },
      'STOW-RS request',
    );
    res.status(status).type('application/dicom+json').send(JSON.stringify(stowResponseBody(outcomes)));
  };

  router.post('/studies', (req, res) => handle(req, res, undefined));
  router.post('/studies/:study', (req, res) => {
    const uid = req.params.study;
    if (!UID.test(uid) || uid.length > 64) throw new AppError('BAD_REQUEST', 'the StudyInstanceUID in the path is not a valid UID');
    return handle(req, res, uid);
  });
  return router;
}
