// Private to worker/: the one mapper from a gRPC error to what the worker does about it.
import { status as GrpcStatus } from "@grpc/grpc-js";

/**
 * What a failed coordinator call means for the worker:
 * - `stale`: FAILED_PRECONDITION, the attempt is no longer current: abort its handler, drop it, no retry;
 * - `rejected`: NOT_FOUND / INVALID_ARGUMENT (and UNIMPLEMENTED, PERMISSION_DENIED, UNAUTHENTICATED,
 *   which no retry can fix): drop the report and log it;
 * - `retry`: anything else (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, ...): try again with backoff.
 */
export type CallErrorKind = "stale" | "rejected" | "retry";

/** A gRPC status code of `error`, when it carries one. */
export function grpcCode(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === "number" ? code : undefined;
}

/** Classifies a failed coordinator call; see {@linkcode CallErrorKind}. */
export function classifyCallError(error: unknown): CallErrorKind {
  switch (grpcCode(error)) {
    case GrpcStatus.FAILED_PRECONDITION:
      return "stale";
    case GrpcStatus.NOT_FOUND:
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.UNIMPLEMENTED:
    case GrpcStatus.PERMISSION_DENIED:
    case GrpcStatus.UNAUTHENTICATED:
      return "rejected";
    default:
      return "retry";
  }
}

/** A short, loggable description of a failed call: `UNAVAILABLE: No connection established`. */
export function describeCallError(error: unknown): string {
  const code = grpcCode(error);
  const name = code === undefined ? undefined : GrpcStatus[code];
  const details =
    typeof error === "object" && error !== null && "details" in error && typeof error.details === "string"
      ? error.details
      : error instanceof Error
        ? error.message
        : String(error);
  return name ? `${name}: ${details}` : details;
}
