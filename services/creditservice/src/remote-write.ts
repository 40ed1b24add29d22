/**
 * Prometheus remote write (protocol 1.0) as far as metering needs it: the
 * body is a snappy block (not the framed format) holding a protobuf
 * `prometheus.WriteRequest`. The service counts the samples a write carries
 * (its price: one credit per sample) and refuses a body that is not a
 * well-formed WriteRequest before anything reaches NightLight. Pure
 * functions, no dependencies: a snappy block decoder and a protobuf walker
 * that knows four field numbers.
 *
 *   WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2;
 *                  repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
 */

/** A body that is not a remote-write request: 400 with this message. */
export class RemoteWriteError extends Error {
  override name = 'RemoteWriteError';
}

/** Largest uncompressed WriteRequest accepted (Prometheus' own receiver has no lower one that matters here). */
export const MAX_UNCOMPRESSED_BYTES = 32 * 1024 * 1024;

/** A little-endian base-128 varint at `pos`: [value, next position]. Values above 2^53 are refused. */
function varint(buf: Uint8Array, pos: number, what: string): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new RemoteWriteError(`${what}: truncated varint`);
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if (value > Number.MAX_SAFE_INTEGER) throw new RemoteWriteError(`${what}: varint too large`);
    if ((b & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new RemoteWriteError(`${what}: varint longer than 10 bytes`);
}

/**
 * Decodes a snappy block (https://github.com/google/snappy/blob/main/format_description.txt):
 * the uncompressed length as a varint, then literals and back-references.
 */
export function snappyUncompress(input: Uint8Array, maxLength = MAX_UNCOMPRESSED_BYTES): Buffer {
  const [length, start] = varint(input, 0, 'snappy length');
  if (length > maxLength) throw new RemoteWriteError(`snappy: uncompressed length ${length} is over ${maxLength} bytes`);
  const out = Buffer.alloc(length);
  let op = 0;
  let ip = start;
  while (ip < input.length) {
    const tag = input[ip++]!;
    const kind = tag & 3;
    if (kind === 0) {
      // Literal: length-1 in the upper 6 bits, or in the next 1-4 bytes.
      let len = tag >>> 2;
      if (len >= 60) {
        const n = len - 59;
        if (ip + n > input.length) throw new RemoteWriteError('snappy: truncated literal length');
        len = 0;
        for (let i = 0; i < n; i++) len += input[ip + i]! * 2 ** (8 * i);
        ip += n;
      }
      len += 1;
      if (ip + len > input.length) throw new RemoteWriteError('snappy: literal runs past the input');
      if (op + len > length) throw new RemoteWriteError('snappy: output longer than announced');
      out.set(input.subarray(ip, ip + len), op);
      ip += len;
      op += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (ip >= input.length) throw new RemoteWriteError('snappy: truncated copy');
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[ip++]!;
    } else if (kind === 2) {
      if (ip + 2 > input.length) throw new RemoteWriteError('snappy: truncated copy');
      len = (tag >>> 2) + 1;
      offset = input[ip]! | (input[ip + 1]! << 8);
      ip += 2;
    } else {
      if (ip + 4 > input.length) throw new RemoteWriteError('snappy: truncated copy');
      len = (tag >>> 2) + 1;
      offset = input[ip]! + input[ip + 1]! * 2 ** 8 + input[ip + 2]! * 2 ** 16 + input[ip + 3]! * 2 ** 24;
      ip += 4;
    }
    if (offset === 0 || offset > op) throw new RemoteWriteError(`snappy: copy offset ${offset} outside the output`);
    if (op + len > length) throw new RemoteWriteError('snappy: output longer than announced');
    // Byte by byte: a copy may overlap what it writes (offset < len repeats a pattern).
    for (let i = 0; i < len; i++, op++) out[op] = out[op - offset]!;
  }
  if (op !== length) throw new RemoteWriteError(`snappy: output is ${op} bytes, announced ${length}`);
  return out;
}

interface Field {
  num: number;
  wire: number;
  /** For wire type 2: the payload. */
  bytes?: Uint8Array;
}

/** The top-level fields of one protobuf message; throws on anything malformed. */
function fields(buf: Uint8Array, what: string): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = varint(buf, pos, what);
    pos = p1;
    const num = Math.floor(key / 8);
    const wire = key % 8;
    if (num === 0) throw new RemoteWriteError(`${what}: field number 0`);
    switch (wire) {
      case 0:
        pos = varint(buf, pos, what)[1];
        out.push({ num, wire });
        break;
      case 1:
        pos += 8;
        out.push({ num, wire });
        break;
      case 5:
        pos += 4;
        out.push({ num, wire });
        break;
      case 2: {
        const [len, p2] = varint(buf, pos, what);
        if (p2 + len > buf.length) throw new RemoteWriteError(`${what}: field ${num} runs past the end`);
        out.push({ num, wire, bytes: buf.subarray(p2, p2 + len) });
        pos = p2 + len;
        break;
      }
      default:
        throw new RemoteWriteError(`${what}: unsupported wire type ${wire} (field ${num})`);
    }
    if (pos > buf.length) throw new RemoteWriteError(`${what}: truncated field ${num}`);
  }
  return out;
}

export interface WriteSummary {
  series: number;
  /** Float samples plus native histogram samples. */
  samples: number;
  /** The value of each series' __name__ label (in order; '' when none). */
  names: string[];
}

/** Counts series and samples of an uncompressed WriteRequest. */
export function summarizeWriteRequest(pb: Uint8Array): WriteSummary {
  const summary: WriteSummary = { series: 0, samples: 0, names: [] };
  for (const f of fields(pb, 'WriteRequest')) {
    if (f.num !== 1) continue; // metadata (3) and anything newer: not metered
    if (f.wire !== 2) throw new RemoteWriteError('WriteRequest: timeseries is not a message');
    summary.series++;
    let name = '';
    for (const t of fields(f.bytes!, 'TimeSeries')) {
      if (t.num === 2 || t.num === 4) {
        if (t.wire !== 2) throw new RemoteWriteError('TimeSeries: sample is not a message');
        summary.samples++;
      } else if (t.num === 1 && t.wire === 2) {
        const label = fields(t.bytes!, 'Label');
        const text = (n: number) => {
          const b = label.find((l) => l.num === n && l.wire === 2)?.bytes;
          return b ? Buffer.from(b).toString('utf8') : '';
        };
        if (text(1) === '__name__') name = text(2);
      }
    }
    summary.names.push(name);
  }
  return summary;
}

/** The summary of a remote-write body (snappy block of a WriteRequest); RemoteWriteError when it is none. */
export function summarizeRemoteWrite(body: Uint8Array): WriteSummary {
  if (body.length === 0) throw new RemoteWriteError('empty body: expected a snappy-compressed WriteRequest');
  return summarizeWriteRequest(snappyUncompress(body));
}
