/**
 * Finds the external data references of an ONNX model (tensors stored outside the .onnx file, TensorProto
 * data_location = EXTERNAL with an external_data "location"), reading just enough of the protobuf wire format to
 * walk ModelProto → graphs → initializers, Constant/attribute tensors and subgraphs. onnxruntime opens those files
 * relative to the model path, so a location such as "../../etc/shadow" or "/var/secret" would read outside the
 * model folder.
 */

export interface ExternalDataRef {
  /** Tensor name, for the error message. */
  tensor: string;
  /** The "location" entry as written in the model; undefined when the tensor has none. */
  location: string | undefined;
}

interface Field {
  no: number;
  wire: number;
  /** Length-delimited payload (wire type 2). */
  bytes?: Uint8Array;
  /** Varint value (wire type 0). */
  value?: number;
}

class ProtoError extends Error {}

function readVarint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (let i = pos; i < buf.length && i < pos + 10; i++) {
    const byte = buf[i] as number;
    // Past 2^53 precision is lost; only lengths and small enums are used, and those fit.
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [value, i + 1];
  }
  throw new ProtoError('truncated varint');
}

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    const no = Math.floor(key / 8);
    const wire = key % 8;
    pos = afterKey;
    if (wire === 0) {
      const [value, next] = readVarint(buf, pos);
      pos = next;
      yield { no, wire, value };
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      const [len, next] = readVarint(buf, pos);
      if (next + len > buf.length) throw new ProtoError('length past the end of the file');
      yield { no, wire, bytes: buf.subarray(next, next + len) };
      pos = next + len;
    } else {
      throw new ProtoError(`unsupported wire type ${wire}`);
    }
    if (pos > buf.length) throw new ProtoError('field past the end of the file');
  }
}

const decoder = new TextDecoder();
const DATA_LOCATION_EXTERNAL = 1;

// Field numbers from onnx.proto3.
const MODEL = { graph: 7, trainingInfo: 20, functions: 25 };
const TRAINING_INFO = { initialization: 1, algorithm: 2 };
const FUNCTION = { node: 7 };
const GRAPH = { node: 1, initializer: 5, sparseInitializer: 15 };
const NODE = { attribute: 5 };
const ATTRIBUTE = { t: 5, g: 6, tensors: 10, graphs: 11, sparseTensor: 22, sparseTensors: 23 };
const TENSOR = { name: 8, externalData: 13, dataLocation: 14 };
const SPARSE_TENSOR = { values: 1, indices: 2 };
const ENTRY = { key: 1, value: 2 };

function tensor(buf: Uint8Array, out: ExternalDataRef[]): void {
  let name = '';
  let external = false;
  let location: string | undefined;
  for (const f of fields(buf)) {
    if (f.no === TENSOR.name && f.bytes) name = decoder.decode(f.bytes);
    else if (f.no === TENSOR.dataLocation && f.value === DATA_LOCATION_EXTERNAL) external = true;
    else if (f.no === TENSOR.externalData && f.bytes) {
      let key = '';
      let value = '';
      for (const e of fields(f.bytes)) {
        if (e.no === ENTRY.key && e.bytes) key = decoder.decode(e.bytes);
        if (e.no === ENTRY.value && e.bytes) value = decoder.decode(e.bytes);
      }
      if (key === 'location') location = value;
    }
  }
  // A location without the EXTERNAL flag is ignored by onnxruntime; list it anyway, it says what was meant.
  if (external || location !== undefined) out.push({ tensor: name, location });
}

function sparseTensor(buf: Uint8Array, out: ExternalDataRef[]): void {
  for (const f of fields(buf)) if ((f.no === SPARSE_TENSOR.values || f.no === SPARSE_TENSOR.indices) && f.bytes) tensor(f.bytes, out);
}

function nodes(buf: Uint8Array, nodeField: number, out: ExternalDataRef[], depth: number): void {
  for (const f of fields(buf)) {
    if (f.no !== nodeField || !f.bytes) continue;
    for (const a of fields(f.bytes)) {
      if (a.no !== NODE.attribute || !a.bytes) continue;
      for (const v of fields(a.bytes)) {
        if (!v.bytes) continue;
        if (v.no === ATTRIBUTE.t || v.no === ATTRIBUTE.tensors) tensor(v.bytes, out);
        else if (v.no === ATTRIBUTE.sparseTensor || v.no === ATTRIBUTE.sparseTensors) sparseTensor(v.bytes, out);
        else if (v.no === ATTRIBUTE.g || v.no === ATTRIBUTE.graphs) graph(v.bytes, out, depth + 1);
      }
    }
  }
}

function graph(buf: Uint8Array, out: ExternalDataRef[], depth: number): void {
  if (depth > 64) throw new ProtoError('subgraphs nested too deeply');
  for (const f of fields(buf)) {
    if (f.no === GRAPH.initializer && f.bytes) tensor(f.bytes, out);
    else if (f.no === GRAPH.sparseInitializer && f.bytes) sparseTensor(f.bytes, out);
  }
  nodes(buf, GRAPH.node, out, depth);
}

/** Every external data reference in the model; throws when the bytes are not a well-formed protobuf. */
export function externalDataRefs(model: Uint8Array): ExternalDataRef[] {
  const out: ExternalDataRef[] = [];
  try {
    for (const f of fields(model)) {
      if (!f.bytes) continue;
      if (f.no === MODEL.graph) graph(f.bytes, out, 0);
      else if (f.no === MODEL.functions) nodes(f.bytes, FUNCTION.node, out, 0);
      else if (f.no === MODEL.trainingInfo) {
        for (const t of fields(f.bytes)) if ((t.no === TRAINING_INFO.initialization || t.no === TRAINING_INFO.algorithm) && t.bytes) graph(t.bytes, out, 0);
      }
    }
  } catch (err) {
    if (err instanceof ProtoError) throw new Error(`not a well-formed ONNX protobuf (${err.message})`);
    throw err;
  }
  return out;
}
