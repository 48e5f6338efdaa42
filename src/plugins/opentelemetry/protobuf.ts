/**
 * A minimal protocol-buffers writer (wire format: protobuf.dev/programming-guides/encoding):
 * varints, length-delimited fields, fixed64 and doubles — what the OTLP
 * trace messages need and nothing more (otlp.ts).
 *
 * Nested messages are written in place: fork() reserves one length byte,
 * join() writes the real length and, when it needs more than one byte,
 * moves the message right by the difference (a memmove; most nested
 * messages here — attributes, statuses — are shorter than 128 bytes).
 */
import { Buffer } from 'node:buffer';

export class ProtoWriter {
  buf: Buffer;
  pos: number;

  constructor(size = 4096) {
    this.buf = Buffer.allocUnsafe(size);
    this.pos = 0;
  }

  reset(): void {
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varint(value: number): void {
    this.ensure(10);
    const buf = this.buf;
    let v = value;
    while (v > 127) {
      buf[this.pos++] = (v & 127) | 128;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /** A string field (wire type 2), UTF-8. */
  string(field: number, value: string): void {
    const len = Buffer.byteLength(value);
    this.tag(field, 2);
    this.varint(len);
    this.ensure(len);
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }

  /** A bytes field given as hex digits (trace and span ids). */
  hexBytes(field: number, hex: string): void {
    const len = hex.length >>> 1;
    this.tag(field, 2);
    this.varint(len);
    this.ensure(len);
    this.pos += this.buf.write(hex, this.pos, 'hex');
  }

  /** Already encoded bytes as a length-delimited field (a pre-encoded message). */
  bytes(field: number, value: Buffer): void {
    this.tag(field, 2);
    this.varint(value.length);
    this.ensure(value.length);
    value.copy(this.buf, this.pos);
    this.pos += value.length;
  }

  /** Raw bytes with no tag (pre-encoded fields). */
  raw(value: Buffer): void {
    this.ensure(value.length);
    value.copy(this.buf, this.pos);
    this.pos += value.length;
  }

  /** A non-negative integer field (wire type 0: int64, uint32, enum, bool). */
  uint(field: number, value: number): void {
    this.tag(field, 0);
    this.varint(value);
  }

  /** An int64 field holding any safe integer (negative: two's complement, 10 bytes). */
  int64(field: number, value: number): void {
    if (value >= 0) {
      this.uint(field, value);
      return;
    }
    this.tag(field, 0);
    this.ensure(10);
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 127n) {
      this.buf[this.pos++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  double(field: number, value: number): void {
    this.tag(field, 1);
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /**
   * A fixed64 field holding `micros` × 1000 (Unix nanoseconds from whole
   * microseconds, which stay exact as a double below 2^53): written as two
   * 32-bit halves, exact, without a BigInt per timestamp.
   */
  fixed64Nanos(field: number, micros: number): void {
    this.tag(field, 1);
    this.ensure(8);
    const hi = Math.floor(micros / 4294967296);
    const lo = (micros - hi * 4294967296) * 1000; // < 2^42: exact
    const carry = Math.floor(lo / 4294967296);
    this.buf.writeUInt32LE(lo - carry * 4294967296, this.pos);
    this.buf.writeUInt32LE(hi * 1000 + carry, this.pos + 4);
    this.pos += 8;
  }

  /** Start a nested message (field `field`); returns the mark join() takes. */
  fork(field: number): number {
    this.tag(field, 2);
    this.ensure(1);
    return this.pos++;
  }

  /** End the nested message started at `mark`: write its length before it. */
  join(mark: number): void {
    const start = mark + 1;
    const len = this.pos - start;
    if (len < 128) {
      this.buf[mark] = len;
      return;
    }
    let extra = 0;
    for (let v = len; v > 127; v = Math.floor(v / 128)) extra++;
    this.ensure(extra);
    this.buf.copyWithin(start + extra, start, this.pos);
    this.pos += extra;
    let p = mark;
    let v = len;
    while (v > 127) {
      this.buf[p++] = (v & 127) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[p] = v;
  }

  /** A copy of what was written. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}
