// A small helper for writing ONNX graphs by hand: unique value names, constants, node lists.
import { DataType, type AttributeValue, type Node, type Tensor } from './onnxModel';

export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private counter = 0;

  private fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  /** Adds a node with one output and returns that output's name. */
  op(opType: string, inputs: string[], attributes?: Record<string, AttributeValue>, opts: { name?: string; domain?: string; output?: string } = {}): string {
    const output = opts.output ?? this.fresh(opts.name ?? opType);
    this.nodes.push({ opType, inputs, outputs: [output], attributes, domain: opts.domain, name: opts.name ? this.fresh(opts.name) : undefined });
    return output;
  }

  /** Adds a node with several outputs. */
  opN(opType: string, inputs: string[], outputs: number, attributes?: Record<string, AttributeValue>): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(opType));
    this.nodes.push({ opType, inputs, outputs: names, attributes });
    return names;
  }

  int64(values: number[] | number, hint = 'const'): string {
    const arr = Array.isArray(values) ? values : [values];
    const data = new BigInt64Array(arr.map((v) => BigInt(v)));
    return this.initializer(hint, DataType.INT64, Array.isArray(values) ? [arr.length] : [], new Uint8Array(data.buffer));
  }

  float32(values: Float32Array | number, dims: number[] = [], hint = 'const'): string {
    const data = typeof values === 'number' ? Float32Array.of(values) : values;
    return this.initializer(hint, DataType.FLOAT, dims, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  initializer(hint: string, dataType: DataType, dims: number[], raw: Uint8Array): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dataType, dims, raw });
    return name;
  }

  external(tensor: Tensor): string {
    this.initializers.push(tensor);
    return tensor.name;
  }
}
