import { connect, type Socket } from 'node:net';

/**
 * A minimal C-STORE SCU that sends a data set's bytes exactly as given (PS3.8 upper layer, PS3.7 C-STORE-RQ).
 * DCMTK's storescu (and any real SCU) parses a file before sending it, so it cannot send a file that crashes a
 * parser; a hostile sender on the network is not so polite. Test use only: no negotiation beyond one context.
 */

const APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';

const pad = (s: string, n: number): Buffer => Buffer.from(s.padEnd(n, ' ').slice(0, n), 'latin1');
const evenUid = (uid: string): Buffer => Buffer.from(uid.length % 2 ? `${uid}\0` : uid, 'latin1');

function item(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = type;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([head, body]);
}

function pdu(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head[0] = type;
  head.writeUInt32BE(body.length, 2);
  return Buffer.concat([head, body]);
}

function element(group: number, elem: number, value: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.writeUInt32LE(value.length, 4);
  return Buffer.concat([head, value]);
}

const us = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};

function storeCommand(sopClassUid: string, sopInstanceUid: string): Buffer {
  const body = Buffer.concat([
    element(0x0000, 0x0002, evenUid(sopClassUid)),
    element(0x0000, 0x0100, us(0x0001)),
    element(0x0000, 0x0110, us(1)),
    element(0x0000, 0x0700, us(0)),
    element(0x0000, 0x0800, us(0x0000)),
    element(0x0000, 0x1000, evenUid(sopInstanceUid)),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length);
  return Buffer.concat([element(0x0000, 0x0000, length), body]);
}

function pdata(contextId: number, control: number, fragment: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt32BE(fragment.length + 2, 0);
  head[4] = contextId;
  head[5] = control;
  return pdu(0x04, Buffer.concat([head, fragment]));
}

/** Reads whole PDUs off a socket. */
class PduReader {
  private buffer = Buffer.alloc(0);
  private waiting: ((p: { type: number; body: Buffer }) => void) | undefined;
  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.deliver();
    });
  }
  private deliver(): void {
    if (!this.waiting || this.buffer.length < 6) return;
    const length = this.buffer.readUInt32BE(2);
    if (this.buffer.length < 6 + length) return;
    const p = { type: this.buffer[0] as number, body: this.buffer.subarray(6, 6 + length) };
    this.buffer = this.buffer.subarray(6 + length);
    const w = this.waiting;
    this.waiting = undefined;
    w(p);
  }
  next(): Promise<{ type: number; body: Buffer }> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.deliver();
    });
  }
}

/** The Status (0000,0900) of a C-STORE-RSP command set (implicit VR LE). */
function statusOf(command: Buffer): number | undefined {
  for (let at = 0; at + 8 <= command.length; ) {
    const group = command.readUInt16LE(at);
    const elem = command.readUInt16LE(at + 2);
    const len = command.readUInt32LE(at + 4);
    if (group === 0x0000 && elem === 0x0900) return command.readUInt16LE(at + 8);
    at += 8 + len;
  }
  return undefined;
}

/**
 * Sends one C-STORE with `dataset` (the bytes after the file meta, in `transferSyntaxUid`) and resolves with the
 * response status, or with the PDU type that ended the association otherwise (e.g. 'rejected', 'aborted').
 */
export async function rawCStore(options: {
  host: string;
  port: number;
  callingAeTitle: string;
  calledAeTitle: string;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  dataset: Uint8Array;
}): Promise<{ status?: number; ended?: string }> {
  const socket = connect(options.port, options.host);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const reader = new PduReader(socket);
  const closed = new Promise<{ ended: string }>((resolve) => socket.once('close', () => resolve({ ended: 'closed' })));
  socket.on('error', () => undefined);
  try {
    const maxLength = Buffer.alloc(4);
    maxLength.writeUInt32BE(16384);
    const header = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00]), pad(options.calledAeTitle, 16), pad(options.callingAeTitle, 16), Buffer.alloc(32)]);
    const context = item(0x20, Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x30, Buffer.from(options.sopClassUid, 'latin1')), item(0x40, Buffer.from(options.transferSyntaxUid, 'latin1'))]));
    const user = item(0x50, Buffer.concat([item(0x51, maxLength), item(0x52, Buffer.from('1.2.826.0.1.3680043.9.9999', 'latin1'))]));
    socket.write(pdu(0x01, Buffer.concat([header, item(0x10, Buffer.from(APPLICATION_CONTEXT, 'latin1')), context, user])));
    const answer = await Promise.race([reader.next(), closed]);
    if ('ended' in answer) return answer;
    if (answer.type !== 0x02) return { ended: answer.type === 0x03 ? 'rejected' : `pdu ${answer.type}` };
    socket.write(pdata(1, 0x03, storeCommand(options.sopClassUid, options.sopInstanceUid)));
    const data = Buffer.from(options.dataset);
    const size = 16000;
    for (let at = 0; at < data.length; at += size) {
      const last = at + size >= data.length;
      socket.write(pdata(1, last ? 0x02 : 0x00, data.subarray(at, at + size)));
    }
    for (;;) {
      const reply = await Promise.race([reader.next(), closed]);
      if ('ended' in reply) return reply;
      if (reply.type !== 0x04) return { ended: reply.type === 0x07 ? 'aborted' : `pdu ${reply.type}` };
      // PDV: length(4) context(1) control(1) fragment; a command fragment carries the response status.
      const control = reply.body[5] as number;
      if (control & 0x01) {
        const status = statusOf(reply.body.subarray(6, 4 + reply.body.readUInt32BE(0)));
        socket.write(pdu(0x05, Buffer.alloc(4)));
        await Promise.race([reader.next(), closed]);
        return status === undefined ? { ended: 'no status' } : { status };
      }
    }
  } finally {
    socket.destroy();
  }
}
