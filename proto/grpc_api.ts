import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { fastSerializer } from "./_fast_serializers.ts";
import type { ProtoGrpcType } from "./_generated/api.ts";

/** Path of TaskMaster's contract, `proto/api.proto`. */
export const apiProtoPath: string = fileURLToPath(new URL("./api.proto", import.meta.url));
/** Path of the seed's original contract, kept unmodified for compatibility tests. */
export const seedProtoPath: string = fileURLToPath(new URL("./testdata/seed_api.proto", import.meta.url));

/**
 * Loader options every TaskMaster process uses: field names exactly as in the .proto (`task_id`,
 * `workerId`), 64-bit integers as numbers (the contract's int64 fields are unix times in seconds or
 * milliseconds, exact as doubles; decoding them into strings through Long cost the coordinator ~5%
 * of its CPU), enums as their names, and defaults filled in so a field a seed peer never sends reads
 * as 0 / "" / false, never undefined.
 */
export const protoLoaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
};

let loaded: ProtoGrpcType["grpcapi"] | undefined;

/** The `grpcapi` package of `proto/api.proto`, typed by the generated definitions. */
export function loadGrpcApi(): ProtoGrpcType["grpcapi"] {
  loaded ??= (grpc.loadPackageDefinition(withFastSerializers(protoLoader.loadSync(apiProtoPath, protoLoaderOptions))) as unknown as ProtoGrpcType)
    .grpcapi;
  return loaded;
}

/**
 * `definition` (of `api.proto`) with every method's serializers replaced by {@linkcode fastSerializer}s
 * (the same bytes, without fromObject). Deserializers stay proto-loader's.
 */
function withFastSerializers(definition: protoLoader.PackageDefinition): protoLoader.PackageDefinition {
  const root = new protobuf.Root().loadSync(apiProtoPath, { keepCase: true });
  for (const [name, entry] of Object.entries(definition)) {
    if ("format" in entry) continue; // a message or enum type, not a service
    const service = root.lookupService(name);
    for (const [methodName, method] of Object.entries(entry as protoLoader.ServiceDefinition)) {
      const rpc = service.methods[methodName]!;
      rpc.resolve();
      Object.assign(method, {
        requestSerialize: fastSerializer(rpc.resolvedRequestType!),
        responseSerialize: fastSerializer(rpc.resolvedResponseType!),
      });
    }
  }
  return definition;
}
