// A minimal protocol-buffers encoder: just what writing ONNX models needs (varints,
// length-delimited fields, fixed32 floats). Decoding is never needed: onnxruntime reads the result.

const enum WireType {
  Varint = 0,
  LengthDelimited = 2,
  Fixed32 = 5,
}

export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private buf = new Uint8Array(256);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = new Uint8Array(Math.max(n, this.buf.length * 2));
  }

  private flush(): void {
    if (this.pos > 0) {
      this.chunks.push(this.buf.slice(0, this.pos));
      this.pos = 0;
    }
  }

  private varint(value: bigint): void {
    // Negative int64 values are written as their 64-bit two's complement (10 bytes).
    let v = BigInt.asUintN(64, value);
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  private smallVarint(v: number): void {
    if (v < 0x80) {
      this.ensure(1);
      this.buf[this.pos++] = v;
    } else {
      this.varint(BigInt(v));
    }
  }

  private tag(field: number, wire: WireType): void {
    this.smallVarint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, WireType.Varint);
    this.varint(BigInt(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WireType.Fixed32);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).setFloat32(0, value, true);
    this.pos += 4;
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WireType.LengthDelimited);
    this.smallVarint(data.length);
    if (data.length > 4096) {
      this.flush();
      this.chunks.push(data); // large payloads are referenced, not copied
    } else {
      this.ensure(data.length);
      this.buf.set(data, this.pos);
      this.pos += data.length;
    }
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  message(field: number, write: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    write(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    this.flush();
    return Buffer.concat(this.chunks);
  }
}
