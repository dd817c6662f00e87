// ONNX model structures and their protobuf encoding (field numbers from the ONNX IR spec).
import { ProtoWriter } from './protobuf';

/** ONNX TensorProto.DataType values used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  BFLOAT16: 16,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

export interface ExternalData {
  location: string;
  offset: number;
  length: number;
}

export interface Tensor {
  name: string;
  dataType: DataType;
  dims: number[];
  raw?: Uint8Array;
  external?: ExternalData;
}

export type AttributeValue = number | string | number[] | { f: number } | { floats: number[] } | Tensor;

export interface Node {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes?: Record<string, AttributeValue>;
}

/** A symbolic (string) or fixed (number) dimension. */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  dataType: DataType;
  shape: Dim[];
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface Model {
  graph: Graph;
  opsets: { domain: string; version: number }[];
  producer: string;
  irVersion?: number;
}

function writeTensor(w: ProtoWriter, t: Tensor): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  w.string(8, t.name);
  if (t.raw) w.bytes(9, t.raw);
  if (t.external) {
    const entries: [string, string][] = [
      ['location', t.external.location],
      ['offset', String(t.external.offset)],
      ['length', String(t.external.length)],
    ];
    for (const [key, value] of entries) w.message(13, (e) => e.string(1, key).string(2, value));
    w.int(14, 1); // data_location = EXTERNAL
  }
}

const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

function writeAttribute(w: ProtoWriter, name: string, v: AttributeValue): void {
  w.string(1, name);
  if (typeof v === 'number') {
    // A plain number is INT when integral; floats that may be integral go through floatAttr.
    if (Number.isInteger(v)) w.int(3, v).int(20, AttributeType.INT);
    else w.float(2, v).int(20, AttributeType.FLOAT);
  } else if (typeof v === 'string') {
    w.string(4, v).int(20, AttributeType.STRING);
  } else if (Array.isArray(v)) {
    for (const i of v) w.int(8, i);
    w.int(20, AttributeType.INTS);
  } else if ('floats' in v) {
    for (const f of v.floats) w.float(7, f);
    w.int(20, AttributeType.FLOATS);
  } else if ('f' in v) {
    w.float(2, v.f).int(20, AttributeType.FLOAT);
  } else {
    w.message(5, (t) => writeTensor(t, v)).int(20, AttributeType.TENSOR);
  }
}

/** A float attribute, even when its value is integral (alpha = 1.0 is not the INT 1). */
export function floatAttr(v: number): { f: number } {
  return { f: v };
}

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.dataType);
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function writeNode(w: ProtoWriter, n: Node): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {})) w.message(5, (a) => writeAttribute(a, k, v));
  if (n.domain) w.string(7, n.domain);
}

export function encodeModel(m: Model): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, m.irVersion ?? 8);
  w.string(2, m.producer);
  w.message(7, (g) => {
    for (const n of m.graph.nodes) g.message(1, (x) => writeNode(x, n));
    g.string(2, m.graph.name);
    for (const t of m.graph.initializers) g.message(5, (x) => writeTensor(x, t));
    for (const i of m.graph.inputs) g.message(11, (x) => writeValueInfo(x, i));
    for (const o of m.graph.outputs) g.message(12, (x) => writeValueInfo(x, o));
  });
  for (const o of m.opsets) w.message(8, (x) => x.string(1, o.domain).int(2, o.version));
  return w.finish();
}
