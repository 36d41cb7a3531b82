import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
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
  loaded ??= (
    grpc.loadPackageDefinition(protoLoader.loadSync(apiProtoPath, protoLoaderOptions)) as unknown as ProtoGrpcType
  ).grpcapi;
  return loaded;
}
