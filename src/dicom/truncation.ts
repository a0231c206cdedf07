/**
 * Detects truncated Part 10 files. dcmjs zero-fills an element whose declared length runs past the end of the
 * buffer, so a file cut in the middle of its pixel data parses "successfully" with black pixels. This walk checks
 * every declared length against the bytes really present, without allocating anything.
 */

const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
const DEFLATED_LE = '1.2.840.10008.1.2.1.99';
const UNDEFINED = 0xffffffff;
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const MAX_DEPTH = 64;

interface Syntax {
  explicit: boolean;
  littleEndian: boolean;
}

class Truncated extends Error {}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

class Walker {
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(offset: number, count: number, what: string): void {
    if (offset + count > this.bytes.length) {
      throw new Truncated(`${what} at byte ${offset} needs ${count} bytes but only ${Math.max(0, this.bytes.length - offset)} remain`);
    }
  }

  private u16(o: number, le: boolean): number {
    return this.view.getUint16(o, le);
  }

  private u32(o: number, le: boolean): number {
    return this.view.getUint32(o, le);
  }

  /** Walks elements from offset; stops at an item delimiter (returns the offset after it) or at the end. */
  dataset(offset: number, syntax: Syntax, inItem: boolean, depth: number): number {
    if (depth > MAX_DEPTH) throw new Truncated(`sequences nested deeper than ${MAX_DEPTH}`);
    let at = offset;
    // At top level a few stray trailing bytes (padding) are tolerated; they cannot hold an element.
    while (inItem || this.bytes.length - at >= 8) {
      this.need(at, 8, 'element header');
      const le = syntax.littleEndian;
      const group = this.u16(at, le);
      const element = this.u16(at + 2, le);
      if (group === 0xfffe && element === 0xe00d) return at + 8;
      let length: number;
      let header: number;
      let vr = '';
      if (syntax.explicit && group !== 0xfffe) {
        vr = String.fromCharCode(this.bytes[at + 4] ?? 0, this.bytes[at + 5] ?? 0);
        if (LONG_VRS.has(vr)) {
          this.need(at, 12, 'element header');
          length = this.u32(at + 8, le);
          header = 12;
        } else {
          length = this.u16(at + 6, le);
          header = 8;
        }
      } else {
        length = this.u32(at + 4, le);
        header = 8;
      }
      at += header;
      if (length === UNDEFINED) {
        // Undefined length: a sequence or encapsulated pixel data; UN content is implicit VR little endian.
        const inner = vr === 'UN' ? { explicit: false, littleEndian: true } : syntax;
        at = this.items(at, inner, depth + 1);
      } else {
        this.need(at, length, `value of (${hex4(group)},${hex4(element)})`);
        at += length;
      }
    }
    return at;
  }

  /** Walks sequence items (or pixel data fragments) until the sequence delimiter. */
  private items(offset: number, syntax: Syntax, depth: number): number {
    let at = offset;
    for (;;) {
      this.need(at, 8, 'item header');
      const le = syntax.littleEndian;
      const group = this.u16(at, le);
      const element = this.u16(at + 2, le);
      const length = this.u32(at + 4, le);
      at += 8;
      if (group === 0xfffe && element === 0xe0dd) return at;
      if (group !== 0xfffe || element !== 0xe000) {
        throw new Truncated(`expected an item tag at byte ${at - 8}, found (${hex4(group)},${hex4(element)})`);
      }
      if (length === UNDEFINED) {
        at = this.dataset(at, syntax, true, depth + 1);
      } else {
        this.need(at, length, 'item');
        at += length;
      }
    }
  }
}

/**
 * Returns a reason when a Part 10 file is cut short (or its lengths are inconsistent), undefined when every declared
 * length fits. Deflated files are not walked (the inflater reports truncation itself).
 */
export function findTruncation(bytes: Uint8Array, transferSyntaxUid: string): string | undefined {
  if (transferSyntaxUid === DEFLATED_LE) return undefined;
  const walker = new Walker(bytes);
  try {
    // File meta: always explicit VR little endian, group 0002, right after the 128-byte preamble and "DICM".
    const metaEnd = metaLength(bytes);
    walker.dataset(metaEnd, { explicit: transferSyntaxUid !== IMPLICIT_LE, littleEndian: transferSyntaxUid !== EXPLICIT_BE }, false, 0);
    return undefined;
  } catch (err) {
    if (err instanceof Truncated) return err.message;
    throw err;
  }
}

/** Offset of the first byte after the file meta group (walks group 0002 elements, explicit VR LE). */
function metaLength(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 132;
  while (at + 8 <= bytes.length && view.getUint16(at, true) === 0x0002) {
    const vr = String.fromCharCode(bytes[at + 4] ?? 0, bytes[at + 5] ?? 0);
    if (LONG_VRS.has(vr)) {
      if (at + 12 > bytes.length) throw new Truncated('file meta header cut off');
      at += 12 + view.getUint32(at + 8, true);
    } else {
      at += 8 + view.getUint16(at + 6, true);
    }
  }
  if (at > bytes.length) throw new Truncated('file meta information cut off');
  return at;
}
