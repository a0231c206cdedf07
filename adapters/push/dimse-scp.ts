import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Dataset, Scp, association, constants, log as dimseLog, requests, responses } from 'dcmjs-dimse';
import { IMPLEMENTATION } from '../../src/dicom/part10';
import { AppError, toAppError } from '../../src/domain/errors';
import { logHash } from '../../src/domain/identity';
import type { Logger } from '../../src/logging';
import type { SpaceGate } from '../storage/storage-monitor';
import { isLoopbackHost } from '../../src/http/auth/bind-policy';
import { PeerPolicy, type DimsePeer } from './dimse-peers';
import { PushTransfer } from './push-transfer';
import { PushRejection, type ReceivedStore, type RejectionReason } from './received-store';

const { PresentationContextResult, RejectResult, RejectSource, RejectReason, SopClass, StorageClass, Status, TransferSyntax } = constants;

/** C-STORE response statuses (PS3.4 Annex B.2.3). */
export const CSTORE_STATUS = {
  success: 0x0000,
  outOfResources: 0xa700,
  dataSetMismatch: 0xa900,
  cannotUnderstand: 0xc000,
} as const;

const STATUS_OF: Record<RejectionReason, number> = {
  unreadable: CSTORE_STATUS.cannotUnderstand,
  'study-mismatch': CSTORE_STATUS.dataSetMismatch,
  'sop-mismatch': CSTORE_STATUS.dataSetMismatch,
  'too-large': CSTORE_STATUS.outOfResources,
  'out-of-resources': CSTORE_STATUS.outOfResources,
};

/** The refusal of an instance under storage pressure (fits the 64-character error comment). */
const LOW_ON_SPACE = 'not stored: the service is low on disk space';

/** Every transfer syntax the pipeline can decode: the default of dimse.transferSyntaxes. */
export const DEFAULT_STORE_TRANSFER_SYNTAXES: readonly string[] = [
  '1.2.840.10008.1.2.1', '1.2.840.10008.1.2', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99',
  '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70',
  '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91',
  '1.2.840.10008.1.2.4.201', '1.2.840.10008.1.2.4.202', '1.2.840.10008.1.2.4.203', '1.2.840.10008.1.2.5',
];

const STORAGE_CLASSES = new Set<string>(Object.values(StorageClass as Record<string, string>));
/** Image storage SOP classes (CT, MR, enhanced, …) live under this root; any of them is welcome. */
const STORAGE_ROOT = '1.2.840.10008.5.1.4.1.1.';
const isStorageClass = (uid: string): boolean => STORAGE_CLASSES.has(uid) || uid.startsWith(STORAGE_ROOT);

export interface DimseScpOptions {
  /** Listen address (dimse.host); default 127.0.0.1. A non-loopback one needs a peer list or allowAnyCaller. */
  host?: string;
  /** TCP port (0 = any free port; the bound one is returned by start()). */
  port: number;
  /** Our AE title; associations calling another one are rejected. */
  aeTitle: string;
  /** Calling AEs and the addresses each may call from (dimse.peers). */
  peers?: readonly DimsePeer[];
  /** Calling AE titles allowed from any address (the older dimse.allowedCallingAeTitles). */
  allowedCallingAeTitles: readonly string[];
  /** With neither list: accept any calling AE from anywhere, even on a non-loopback address (warned at start). */
  allowAnyCaller?: boolean;
  /** Transfer syntaxes accepted for storage; the SCU's first offered one in this list is taken (stored as sent). */
  transferSyntaxes: readonly string[];
  store: ReceivedStore;
  /** The storage monitor: under pressure each C-STORE is answered A700 without writing. */
  storage?: SpaceGate;
  logger: Logger;
}

/** The UIDs a file meta group needs, written as Explicit VR Little Endian (PS3.10 7.1). */
export function fileMetaHeader(meta: { sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string; implementationClassUid: string; implementationVersionName: string; sourceAeTitle?: string }): Buffer {
  const element = (element: number, vr: string, value: Buffer): Buffer => {
    const longForm = vr === 'OB';
    const head = Buffer.alloc(longForm ? 12 : 8);
    head.writeUInt16LE(0x0002, 0);
    head.writeUInt16LE(element, 2);
    head.write(vr, 4, 'latin1');
    if (longForm) head.writeUInt32LE(value.length, 8);
    else head.writeUInt16LE(value.length, 6);
    return Buffer.concat([head, value]);
  };
  const text = (s: string, pad: string): Buffer => Buffer.from(s.length % 2 === 0 ? s : s + pad, 'latin1');
  const body = Buffer.concat([
    element(0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 'UI', text(meta.sopClassUid, '\0')),
    element(0x0003, 'UI', text(meta.sopInstanceUid, '\0')),
    element(0x0010, 'UI', text(meta.transferSyntaxUid, '\0')),
    element(0x0012, 'UI', text(meta.implementationClassUid, '\0')),
    element(0x0013, 'SH', text(meta.implementationVersionName.slice(0, 16), ' ')),
    ...(meta.sourceAeTitle ? [element(0x0016, 'AE', text(meta.sourceAeTitle.slice(0, 16), ' '))] : []),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(body.length, 0);
  const preamble = Buffer.alloc(132);
  preamble.write('DICM', 128, 'latin1');
  return Buffer.concat([preamble, element(0x0000, 'UL', groupLength), body]);
}

/**
 * Receives one C-STORE data set straight into a temporary Part 10 file (file meta first, then the bytes exactly as
 * they arrived), so large instances never sit in memory. It never emits 'error' (that would take the association
 * down mid-PDU): a disk failure or the size cap is recorded and reported in the C-STORE response instead. Made with
 * a refusal (storage pressure), it writes nothing and only lets the data set stream past.
 */
class InstanceUpload extends Writable {
  private readonly file: WriteStream | undefined;
  private size = 0;
  /** Bytes handed to the file (header included): the committed file must have exactly this many. */
  written = 0;
  problem: PushRejection | undefined;
  readonly done: Promise<void>;

  constructor(
    readonly tmpPath: string,
    header: Buffer,
    private readonly maxBytes: number,
    refusal?: PushRejection,
  ) {
    super();
    this.problem = refusal;
    // WriteStream writes each chunk whole (it repeats short writes), so a full disk surfaces here as ENOSPC.
    this.file = refusal ? undefined : createWriteStream(tmpPath);
    this.file?.on('error', (err) => {
      this.problem ??= new PushRejection('out-of-resources', 'the instance could not be written to disk', err);
    });
    if (this.file) this.send(header);
    this.done = new Promise((resolve) => this.once('finish', resolve));
  }

  private send(chunk: Buffer): boolean {
    this.written += chunk.length;
    return (this.file as WriteStream).write(chunk);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) this.problem ??= new PushRejection('too-large', `instance exceeds limits.maxInstanceBytes (${this.maxBytes} bytes)`);
    if (this.problem || !this.file) return callback();
    if (this.send(chunk)) callback();
    else this.file.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.file) return callback();
    // After a write error the stream is destroyed; end() still calls back (with the error), so done resolves.
    this.file.end(() => callback());
  }

  /** Ensures the file handle is closed (an aborted association never calls end()). */
  discard(): void {
    if (!this.writableEnded) this.end();
  }
}

/**
 * DICOM C-STORE SCP (and C-ECHO) over dcmjs-dimse. Instances go through the same ReceivedStore as STOW-RS, and
 * the SCU gets Success only after the instance is durably on disk. Association policy: the calling AE must be listed
 * and call from an address allowed for it (dimse.peers, adapters/push/dimse-peers.ts), our AE title must be the
 * called one, storage SOP classes are accepted in the configured transfer syntaxes (compressed ones included; files
 * are kept as sent).
 */
export class DimseStoreScp {
  private server: NetServer | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly inFlight = new Set<Promise<void>>();
  private accepting = false;
  private readonly host: string;
  private readonly policy: PeerPolicy;
  /** Neither dimse.peers nor dimse.allowedCallingAeTitles: every caller that reaches the listener is accepted. */
  private readonly anyCaller: boolean;

  constructor(private readonly options: DimseScpOptions) {
    this.host = options.host ?? '127.0.0.1';
    const peers = options.peers ?? [];
    this.anyCaller = peers.length === 0 && options.allowedCallingAeTitles.length === 0;
    // No list on loopback: only this machine can call (the quick start); elsewhere a list or allowAnyCaller is needed.
    this.policy = new PeerPolicy(peers, options.allowedCallingAeTitles, this.anyCaller);
    if (this.anyCaller && !isLoopbackHost(this.host) && !options.allowAnyCaller) {
      throw new AppError(
        'CONFIG_INVALID',
        `the DICOM listener on ${this.host} would accept any calling AE from any address: list the senders in dimse.peers (AE title and hosts), bind dimse.host to 127.0.0.1, or set dimse.allowAnyCaller: true on purpose`,
      );
    }
  }

  /** Starts listening; resolves with the bound port. */
  async start(): Promise<number> {
    // dcmjs-dimse logs to the console by itself; our own log lines (no patient data) replace its output.
    dimseLog.setLevel('silent');
    const { logger } = this.options;
    if (this.anyCaller && !isLoopbackHost(this.host)) logger.warn({ host: this.host }, 'DICOM listener accepts any calling AE from any address (dimse.allowAnyCaller): list the senders in dimse.peers');
    const scpClass = this.scpClass();
    // Our own listener (not dcmjs-dimse's Server, which binds every interface): it binds dimse.host.
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      const scp = new scpClass(socket, {});
      scp.on('networkError', (err: Error) => {
        socket.end();
        logger.warn({ err: err.message }, 'DICOM association network error');
      });
    });
    this.server = server;
    this.accepting = true;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new AppError('CONFIG_INVALID', `DICOM listener could not start on ${this.host}:${this.options.port}: ${err.message}`, { cause: err }));
      server.once('error', onError);
      server.listen(this.options.port, this.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err: Error) => logger.warn({ err: err.message }, 'DICOM listener error'));
    const bound = server.address() as AddressInfo | null;
    const port = bound?.port ?? this.options.port;
    logger.info({ host: this.host, port, aeTitle: this.options.aeTitle }, 'DICOM C-STORE SCP listening');
    return port;
  }

  /** Stops accepting associations, lets stores in progress finish (bounded), then closes every connection. */
  async stop(graceMs = 10_000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.accepting = false;
    if (server.listening) server.close();
    const settled = Promise.all([...this.inFlight]).then(() => true);
    await Promise.race([settled, new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.server = undefined;
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private scpClass(): typeof Scp {
    const { options } = this;
    const { storage } = options;
    const isAccepting = (): boolean => this.accepting;
    const track = (p: Promise<void>): void => this.track(p);
    const accepted = new Set(options.transferSyntaxes);
    const policy = this.policy;
    const uncompressed = [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian];

    return class StoreScp extends Scp {
      private callingAeTitle = '';
      /** The TCP peer, taken when the connection opens (the socket forgets it once closed). */
      private remoteAddress: string | undefined;
      private readonly uploads = new Map<requests.CStoreRequest, InstanceUpload>();
      /** The association as one transfer: its studies are marked incomplete if it loses instances or is cut short. */
      private transfer: PushTransfer | undefined;
      private readonly stores = new Set<Promise<void>>();
      private released = false;
      private ended = false;

      override associationRequested(request: association.Association): void {
        const calling = request.getCallingAeTitle().trim();
        const called = request.getCalledAeTitle().trim();
        this.callingAeTitle = calling;
        const reject = (reason: number, why: string): void => {
          options.logger.warn({ callingAeTitle: calling, calledAeTitle: called }, `DICOM association rejected: ${why}`);
          this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, reason);
        };
        if (!isAccepting()) return this.sendAssociationReject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.TemporaryCongestion);
        // Host names may need a DNS lookup: the answer waits for it (the SCU waits for A-ASSOCIATE-AC/RJ anyway).
        void policy
          .decide(calling, this.remoteAddress)
          .then((decision) => {
            // A calling AE from an address not allowed for it is refused with the same reason: PS3.8 has no other.
            if (!decision.allowed) {
              const why = decision.why === 'calling-ae' ? 'calling AE title not in dimse.peers' : 'calling AE title not allowed from this address (dimse.peers hosts)';
              options.logger.warn({ callingAeTitle: calling, calledAeTitle: called, peerAddress: this.remoteAddress }, `DICOM association rejected: ${why}`);
              return this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
            }
            if (called !== options.aeTitle) return reject(RejectReason.CalledAeNotRecognized, `called AE title is not ours (${options.aeTitle})`);
            this.acceptContexts(request);
          })
          .catch((err: unknown) => {
            options.logger.error({ err: toAppError(err).message }, 'DICOM association could not be decided');
            this.sendAssociationReject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.TemporaryCongestion);
          });
      }

      private acceptContexts(request: association.Association): void {
        for (const { id } of request.getPresentationContexts()) {
          const context = request.getPresentationContext(id);
          const abstract = context.getAbstractSyntaxUid();
          const offered = context.getTransferSyntaxUids();
          let choice: string | undefined;
          if (abstract === SopClass.Verification) choice = offered.find((ts) => uncompressed.includes(ts));
          else if (isStorageClass(abstract)) choice = offered.find((ts) => accepted.has(ts));
          else {
            context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
            continue;
          }
          if (choice) context.setResult(PresentationContextResult.Accept, choice);
          else context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
        }
        this.sendAssociationAccept();
      }

      override associationReleaseRequested(): void {
        this.released = true;
        this.sendAssociationReleaseResponse();
        this.endTransfer();
      }

      /** Once the stores in progress are done: mark or clear the studies this association stored into. */
      private endTransfer(cutShort?: string): void {
        const transfer = this.transfer;
        if (!transfer || this.ended) return;
        this.ended = true;
        if (cutShort) transfer.cutShort(cutShort);
        const ended = Promise.all([...this.stores])
          .then(() => transfer.finish())
          .then(() => {
            const figures = transfer.figures();
            if (figures.studies > 0 && (figures.failedOutOfResources > 0 || figures.cutShort)) options.logger.warn({ callingAeTitle: this.callingAeTitle, ...figures }, 'C-STORE association left its studies incomplete');
          })
          .catch((err: unknown) => options.logger.error({ err: toAppError(err).message }, 'incomplete marks of a C-STORE association could not be kept'));
        track(ended);
      }

      override cEchoRequest(request: requests.CEchoRequest, callback: (response: responses.CEchoResponse) => void): void {
        const response = responses.CEchoResponse.fromRequest(request);
        response.setStatus(Status.Success);
        callback(response);
      }

      override createStoreWritableStream(context: association.PresentationContext, request: requests.CStoreRequest): Writable {
        const header = fileMetaHeader({
          sopClassUid: request.getAffectedSopClassUid(),
          sopInstanceUid: request.getAffectedSopInstanceUid(),
          transferSyntaxUid: context.getAcceptedTransferSyntaxUid() ?? TransferSyntax.ImplicitVRLittleEndian,
          implementationClassUid: IMPLEMENTATION.classUid,
          implementationVersionName: IMPLEMENTATION.versionName,
          ...(this.callingAeTitle ? { sourceAeTitle: this.callingAeTitle } : {}),
        });
        // Under storage pressure nothing is written: the data set streams past and the answer is A700.
        const refusal = storage && !storage.spaceAvailable() ? new PushRejection('out-of-resources', LOW_ON_SPACE) : undefined;
        const upload = new InstanceUpload(options.store.tempPath(), header, options.store.maxInstanceBytes, refusal);
        this.uploads.set(request, upload);
        return upload;
      }

      override createDatasetFromStoreWritableStream(writable: Writable, context: association.PresentationContext, callback: (dataset: Dataset) => void): void {
        // The bytes are in the file; the request only needs a placeholder. Wait until the file is complete.
        void (writable as InstanceUpload).done.then(() => callback(new Dataset({}, context.getAcceptedTransferSyntaxUid())));
      }

      override cStoreRequest(request: requests.CStoreRequest, callback: (response: responses.CStoreResponse) => void): void {
        const upload = this.uploads.get(request);
        this.uploads.delete(request);
        const transfer = (this.transfer ??= new PushTransfer(options.store, 'C-STORE association'));
        const work = (async () => {
          const response = responses.CStoreResponse.fromRequest(request);
          try {
            if (!upload) throw new PushRejection('unreadable', 'no data set was received with the C-STORE request');
            await upload.done;
            if (upload.problem) {
              await options.store.discardTemp(upload.tmpPath);
              throw upload.problem;
            }
            const kept = await options.store.commitFile(
              upload.tmpPath,
              { source: 'dimse', ...(this.callingAeTitle ? { callingAeTitle: this.callingAeTitle } : {}) },
              { sopClassUid: request.getAffectedSopClassUid(), sopInstanceUid: request.getAffectedSopInstanceUid(), bytes: upload.written },
              transfer,
            );
            response.setStatus(CSTORE_STATUS.success);
            options.logger.debug({ study: logHash(kept.studyInstanceUid), callingAeTitle: this.callingAeTitle }, 'C-STORE instance stored');
          } catch (err) {
            // An unexpected error's message can name files: the SCU's error comment gets a fixed text, the log the message.
            const rejection = err instanceof PushRejection ? err : new PushRejection('out-of-resources', 'the instance could not be stored', err);
            transfer.refused(rejection.reason);
            // The disk filled up under this instance: look now, so the next ones are refused before they are written.
            if (rejection.noSpace) storage?.reportNoSpace('received dir');
            response.setStatus(STATUS_OF[rejection.reason]);
            response.setErrorComment(rejection.message.slice(0, 64));
            // Under pressure every instance is refused: the transition was logged once, these are routine.
            options.logger[rejection.message === LOW_ON_SPACE ? 'debug' : 'warn']({ callingAeTitle: this.callingAeTitle, reason: rejection.reason, err: err instanceof PushRejection ? rejection.message : toAppError(err).message }, 'C-STORE instance refused');
          }
          callback(response);
        })();
        this.stores.add(work);
        void work.finally(() => this.stores.delete(work));
        track(work);
      }

      constructor(...args: ConstructorParameters<typeof Scp>) {
        super(...args);
        // C-STORE-RSPs are small PDUs the sender waits for: send them at once rather than let Nagle's algorithm hold them.
        args[0].setNoDelay(true);
        this.remoteAddress = args[0].remoteAddress;
        // A connection that drops mid-transfer (no A-ABORT) leaves partial uploads behind: drop them too.
        this.on('close', () => {
          this.dropUploads();
          // Only A-RELEASE ends an association normally (PS3.8 7.2): anything else may have cut a study short.
          if (!this.released) this.endTransfer('lost its connection before it was released');
        });
      }

      override abort(): void {
        // The peer gave up: close our end too, so it does not wait for a timeout.
        (this as unknown as { socket?: { end(): void } }).socket?.end();
        this.dropUploads();
        this.endTransfer('was aborted');
      }

      private dropUploads(): void {
        for (const u of this.uploads.values()) {
          u.discard();
          void u.done.then(() => options.store.discardTemp(u.tmpPath));
        }
        this.uploads.clear();
      }
    };
  }
}
