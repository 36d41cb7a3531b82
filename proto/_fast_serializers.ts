// Private to proto/: message serializers that skip protobufjs's fromObject.
import protobuf from "protobufjs";

/** Turns an object as TaskMaster code writes it (enums as names) into one protobufjs `encode` takes as is. */
type Prepare = (value: Record<string, unknown>) => Record<string, unknown>;

/**
 * The serializer of `type` for gRPC: the bytes proto-loader's own serializer writes
 * (`type.encode(type.fromObject(value))`), without building a message object first. fromObject
 * copies every field into a new message and makes a `Long` of each 64-bit integer; for the streamed
 * report and dispatch calls that was the single largest cost of a worker's send path (~6% of its CPU).
 * Here only enum names are turned into their numbers (in a copy of the objects that hold one); every
 * other field is encoded from the caller's object as it is, so it must already hold the field's type
 * (a number for a number, a string for a string), which the generated TypeScript types ensure.
 */
export function fastSerializer(type: protobuf.Type): (value: object) => Buffer {
  const prepare = preparerOf(type, new Map());
  return (value) => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    const writer = type.encode(prepare ? prepare(value as Record<string, unknown>) : value);
    return writer.finish() as Buffer;
  };
}

/** undefined when no field of `type`, at any depth, is an enum: the object is then encoded as it is. */
function preparerOf(type: protobuf.Type, seen: Map<protobuf.Type, Prepare | undefined>): Prepare | undefined {
  if (seen.has(type)) return seen.get(type);
  seen.set(type, undefined); // a recursive type: its inner copies are encoded as they are
  type.resolveAll();
  const steps: { name: string; repeated: boolean; convert: (v: unknown) => unknown }[] = [];
  for (const field of type.fieldsArray) {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Enum) {
      const values = resolved.values;
      steps.push({ name: field.name, repeated: field.repeated, convert: (v) => (typeof v === "string" && v in values ? values[v] : v) });
    } else if (resolved instanceof protobuf.Type) {
      const inner = preparerOf(resolved, seen);
      if (inner) steps.push({ name: field.name, repeated: field.repeated, convert: (v) => (v != null && typeof v === "object" ? inner(v as Record<string, unknown>) : v) });
    }
  }
  if (steps.length === 0) return undefined;
  const prepare: Prepare = (value) => {
    const copy = { ...value };
    for (const { name, repeated, convert } of steps) {
      const v = copy[name];
      if (v == null) continue;
      copy[name] = repeated && Array.isArray(v) ? v.map(convert) : convert(v);
    }
    return copy;
  };
  seen.set(type, prepare);
  return prepare;
}
