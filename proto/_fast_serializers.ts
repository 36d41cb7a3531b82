// Private to proto/: message serializers that write protobuf bytes straight from the caller's object.
import protobuf from "protobufjs";

/**
 * The serializer of `type` for gRPC: the bytes proto-loader's own serializer writes
 * (`type.encode(type.fromObject(value))`), written in two passes over the caller's object (the
 * sizes, then the bytes into one buffer of exactly that size). proto-loader's way copies every field
 * into a message object (fromObject, with a `Long` for each 64-bit integer) and then queues an
 * operation object per field (protobufjs's Writer) before copying the bytes out: for the streamed
 * report and dispatch calls, sent for every task, that was 7% of a worker's CPU.
 *
 * Fields are written as protobufjs writes them: in field-number order, each one that is not null or
 * undefined (a repeated one when not empty), enum names as their numbers. A field must hold its
 * type as the generated TypeScript types say (a number for a number, a string for a string); a
 * type with field kinds this writer does not know (bytes, floats, fixed-width, zig-zag, maps, packed
 * numbers: none in api.proto) goes through protobufjs's own encoder instead, enum names mapped.
 * Strings are written as UTF-8 by Buffer (a lone surrogate becomes U+FFFD).
 */
export function fastSerializer(type: protobuf.Type): (value: object) => Buffer {
  const plan = planOf(type, new Map());
  if (!plan) return protobufjsSerializer(type);
  const sizes: number[] = [];
  return (value) => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    sizes.length = 0;
    const size = sizeOf(plan, value as Fields, sizes);
    const buffer = Buffer.allocUnsafe(size);
    const end = writeMessage(plan, value as Fields, buffer, 0, sizes, { next: 0 });
    if (end !== size) throw new Error(`Failed to serialize message ${type.name}: wrote ${end} bytes of ${size}`);
    return buffer;
  };
}

type Fields = Record<string, unknown>;

type Kind = "string" | "bool" | "uint32" | "int32" | "int64" | "uint64" | "enum" | "message";

interface FieldPlan {
  name: string;
  kind: Kind;
  repeated: boolean;
  /** The field's key (number << 3 | wire type) as varint bytes. */
  key: number[];
  /** For an enum: its numbers by name. */
  values?: Record<string, number>;
  /** For a message: its plan (filled in after, for recursive types). */
  plan?: FieldPlan[];
}

const SCALARS: Partial<Record<string, { kind: Kind; wire: number }>> = {
  string: { kind: "string", wire: 2 },
  bool: { kind: "bool", wire: 0 },
  uint32: { kind: "uint32", wire: 0 },
  int32: { kind: "int32", wire: 0 },
  int64: { kind: "int64", wire: 0 },
  uint64: { kind: "uint64", wire: 0 },
};

/** The write plan of `type`, or undefined when a field (at any depth) is of a kind not handled here. */
function planOf(type: protobuf.Type, seen: Map<protobuf.Type, FieldPlan[] | undefined>): FieldPlan[] | undefined {
  if (seen.has(type)) return seen.get(type);
  const plan: FieldPlan[] = [];
  seen.set(type, plan);
  type.resolveAll();
  const fields = [...type.fieldsArray].sort((a, b) => a.id - b.id);
  for (const field of fields) {
    if (field.map) return fail(type, seen);
    const resolved = field.resolvedType;
    let kind: Kind;
    let wire: number;
    const step: Partial<FieldPlan> = {};
    if (resolved instanceof protobuf.Enum) {
      kind = "enum";
      wire = 0;
      step.values = resolved.values;
    } else if (resolved instanceof protobuf.Type) {
      kind = "message";
      wire = 2;
      const inner = planOf(resolved, seen);
      if (!inner) return fail(type, seen);
      step.plan = inner;
    } else {
      const scalar = SCALARS[field.type];
      if (!scalar) return fail(type, seen);
      kind = scalar.kind;
      wire = scalar.wire;
    }
    // Packed repeated numbers are not written here (none in api.proto).
    if (field.repeated && kind !== "string" && kind !== "message") return fail(type, seen);
    plan.push({ name: field.name, kind, repeated: field.repeated, key: varintBytes(((field.id << 3) | wire) >>> 0), ...step });
  }
  return plan;
}

function fail(type: protobuf.Type, seen: Map<protobuf.Type, FieldPlan[] | undefined>): undefined {
  seen.set(type, undefined);
  return undefined;
}

function varintBytes(value: number): number[] {
  const bytes: number[] = [];
  while (value > 127) {
    bytes.push((value & 127) | 128);
    value >>>= 7;
  }
  bytes.push(value);
  return bytes;
}

const varint32Size = (v: number) => (v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : v < 268435456 ? 4 : 5);

/** The halves {@linkcode longBits} computed last (module state, so that no array is made per value). */
let bitsLo = 0;
let bitsHi = 0;

/**
 * A 64-bit integer from a number, as protobufjs's LongBits.fromNumber: its low and high 32-bit halves
 * (two's complement), left in `bitsLo` and `bitsHi` (an array returned per int64 field was ~270 bytes
 * of garbage a report in the worker's allocation profile).
 */
function longBits(value: number): void {
  const negative = value < 0;
  if (negative) value = -value;
  let lo = value >>> 0;
  let hi = ((value - lo) / 4294967296) >>> 0;
  if (negative) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
    if (++lo > 4294967295) {
      lo = 0;
      if (++hi > 4294967295) hi = 0;
    }
  }
  bitsLo = lo;
  bitsHi = hi;
}

function varint64Size(lo: number, hi: number): number {
  // As protobufjs's LongBits.length().
  const part0 = lo;
  const part1 = ((lo >>> 28) | (hi << 4)) >>> 0;
  const part2 = hi >>> 24;
  return part2 === 0
    ? part1 === 0
      ? part0 < 16384 ? (part0 < 128 ? 1 : 2) : part0 < 2097152 ? 3 : 4
      : part1 < 16384 ? (part1 < 128 ? 5 : 6) : part1 < 2097152 ? 7 : 8
    : part2 < 128 ? 9 : 10;
}

function int64Of(value: unknown, fieldName: string): number {
  if (typeof value !== "number") throw new TypeError(`Failed to serialize message: ${fieldName} must be a number, got ${typeof value}`);
  return value;
}

function enumNumber(step: FieldPlan, value: unknown): number {
  if (typeof value === "number") return value | 0;
  if (typeof value === "string" && step.values && value in step.values) return step.values[value]!;
  throw new TypeError(`Failed to serialize message: ${step.name} is not a value of its enum: ${String(value)}`);
}

/** Bytes of one value of a field (without its key). */
function valueSize(step: FieldPlan, value: unknown, sizes: number[]): number {
  switch (step.kind) {
    case "string": {
      const length = Buffer.byteLength(value as string, "utf8");
      return varint32Size(length) + length;
    }
    case "bool":
      return 1;
    case "uint32":
      return varint32Size((value as number) >>> 0);
    case "int32": {
      const v = (value as number) | 0;
      return v < 0 ? 10 : varint32Size(v);
    }
    case "enum": {
      const v = enumNumber(step, value);
      return v < 0 ? 10 : varint32Size(v);
    }
    case "int64":
    case "uint64": {
      longBits(int64Of(value, step.name));
      return varint64Size(bitsLo, bitsHi);
    }
    case "message": {
      const at = sizes.length;
      sizes.push(0);
      const size = sizeOf(step.plan!, value as Fields, sizes);
      sizes[at] = size;
      return varint32Size(size) + size;
    }
  }
}

/** Bytes of a message's fields; records each nested message's size in `sizes`, in write order. */
function sizeOf(plan: FieldPlan[], message: Fields, sizes: number[]): number {
  let size = 0;
  for (const step of plan) {
    const value = message[step.name];
    if (value == null) continue;
    if (step.repeated) {
      const list = value as unknown[];
      for (let i = 0; i < list.length; i++) size += step.key.length + valueSize(step, list[i], sizes);
    } else {
      size += step.key.length + valueSize(step, value, sizes);
    }
  }
  return size;
}

function writeVarint32(buffer: Buffer, pos: number, value: number): number {
  while (value > 127) {
    buffer[pos++] = (value & 127) | 128;
    value >>>= 7;
  }
  buffer[pos++] = value;
  return pos;
}

function writeVarint64(buffer: Buffer, pos: number, lo: number, hi: number): number {
  // As protobufjs's writeVarint64.
  while (hi) {
    buffer[pos++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo > 127) {
    buffer[pos++] = (lo & 127) | 128;
    lo = lo >>> 7;
  }
  buffer[pos++] = lo;
  return pos;
}

function writeValue(step: FieldPlan, value: unknown, buffer: Buffer, pos: number, sizes: number[], cursor: { next: number }): number {
  switch (step.kind) {
    case "string": {
      const text = value as string;
      const length = Buffer.byteLength(text, "utf8");
      pos = writeVarint32(buffer, pos, length);
      return pos + buffer.write(text, pos, length, "utf8");
    }
    case "bool":
      buffer[pos] = value ? 1 : 0;
      return pos + 1;
    case "uint32":
      return writeVarint32(buffer, pos, (value as number) >>> 0);
    case "int32":
    case "enum": {
      const v = step.kind === "enum" ? enumNumber(step, value) : (value as number) | 0;
      if (v >= 0) return writeVarint32(buffer, pos, v);
      longBits(v);
      return writeVarint64(buffer, pos, bitsLo, bitsHi);
    }
    case "int64":
    case "uint64": {
      longBits(value as number);
      return writeVarint64(buffer, pos, bitsLo, bitsHi);
    }
    case "message": {
      const size = sizes[cursor.next++]!;
      pos = writeVarint32(buffer, pos, size);
      return writeMessage(step.plan!, value as Fields, buffer, pos, sizes, cursor);
    }
  }
}

function writeMessage(plan: FieldPlan[], message: Fields, buffer: Buffer, pos: number, sizes: number[], cursor: { next: number }): number {
  for (const step of plan) {
    const value = message[step.name];
    if (value == null) continue;
    const key = step.key;
    if (step.repeated) {
      const list = value as unknown[];
      for (let i = 0; i < list.length; i++) {
        for (let k = 0; k < key.length; k++) buffer[pos++] = key[k]!;
        pos = writeValue(step, list[i], buffer, pos, sizes, cursor);
      }
    } else {
      for (let k = 0; k < key.length; k++) buffer[pos++] = key[k]!;
      pos = writeValue(step, value, buffer, pos, sizes, cursor);
    }
  }
  return pos;
}

/** protobufjs's own encoder, enum names mapped to numbers first (in a copy): for types this writer does not handle. */
function protobufjsSerializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    return type.encode(type.fromObject(value)).finish() as Buffer;
  };
}
