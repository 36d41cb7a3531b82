import * as protoLoader from "@grpc/proto-loader";
import { describe, expect, test } from "vitest";
import { apiProtoPath, loadGrpcApi, protoLoaderOptions } from "./grpc_api.ts";

// Every method's serializers are TaskMaster's own (no fromObject); they must write exactly the bytes
// proto-loader's write, and what they write must read back as the same object.
const original = protoLoader.loadSync(apiProtoPath, protoLoaderOptions);
const api = loadGrpcApi();

type Method = { requestSerialize: (v: object) => Buffer; responseSerialize: (v: object) => Buffer; requestDeserialize: (b: Buffer) => object; responseDeserialize: (b: Buffer) => object };
const methodOf = (service: "WorkerService" | "CoordinatorService", name: string) =>
  (api[service].service as unknown as Record<string, Method>)[name]!;
const originalOf = (service: string, name: string) => (original[`grpcapi.${service}`] as unknown as Record<string, Method>)[name]!;

const report = {
  task_id: "0192f0c4-7a3e-7b1c-9d2e-3f4a5b6c7d8e",
  status: "COMPLETE" as const,
  started_at: 0,
  completed_at: 1_764_000_000,
  failed_at: 0,
  attempt: 3,
  worker_id: 4_294_967_295,
  result_json: '{"ok":true,"text":"héllo ✓"}',
  error: "",
  not_retryable: false,
  started_at_ms: 1_764_000_000_123,
};

const cases: { service: "WorkerService" | "CoordinatorService"; method: string; side: "request" | "response"; value: object }[] = [
  { service: "CoordinatorService", method: "ReportStream", side: "request", value: { call_id: 7, request: { worker_id: 9, reports: [report, { ...report, status: "STARTED", started_at: 1_764_000_001, result_json: "" }, { ...report, status: "FAILED", error: "boom", not_retryable: true }] } } },
  { service: "CoordinatorService", method: "ReportStream", side: "response", value: { call_id: 7, code: 0, details: "", response: { results: [{ task_id: "a", attempt: 1, code: "ACCEPTED", message: "" }, { task_id: "b", attempt: 2, code: "STALE", message: "stale attempt" }, { task_id: "c", attempt: 0, code: 4, message: "" }] } } },
  { service: "CoordinatorService", method: "SendHeartbeat", side: "request", value: { workerId: 3, address: "worker-3:50051", capacity: 50, handlers: ["noop", "echo"], in_flight: 2, draining: false, batch_dispatch: true, holding: ["x/1"], reports_holding: true } },
  { service: "CoordinatorService", method: "UpdateTaskStatus", side: "request", value: { task_id: "t", status: "QUEUED", attempt: 0 } },
  { service: "WorkerService", method: "SubmitTaskStream", side: "request", value: { call_id: 1, batch: { tasks: [{ task_id: "t1", data: "noop", attempt: 1, payload_json: '{"n":1}', timeout_ms: 30_000, start_on_arrival: true }, { task_id: "t2", data: "sleep", attempt: 2, payload_json: "", timeout_ms: 0, start_on_arrival: false }] } } },
  { service: "WorkerService", method: "SubmitTaskStream", side: "response", value: { call_id: 1, code: 3, details: "bad", response: { results: [{ task_id: "t1", success: true, message: "accepted" }] } } },
  { service: "WorkerService", method: "SubmitTask", side: "request", value: { task_id: "t1", data: "noop" } },
  // Negative and large 64-bit times, zeros written explicitly, long and non-ASCII strings, empty lists and messages.
  { service: "CoordinatorService", method: "UpdateTaskStatus", side: "request", value: { ...report, started_at: -1, completed_at: -9_007_199_254_740_991, failed_at: 2 ** 53 - 1, started_at_ms: 0, error: "x".repeat(300) + "✓ ünï 😀", attempt: 0 } },
  { service: "WorkerService", method: "SubmitTaskStream", side: "request", value: { call_id: 0, batch: { tasks: [] } } },
  { service: "WorkerService", method: "SubmitTaskStream", side: "request", value: { call_id: 4_294_967_295, batch: {} } },
  { service: "WorkerService", method: "SubmitTaskStream", side: "request", value: { call_id: 2, batch: { tasks: [{ task_id: "t", data: "echo", payload_json: JSON.stringify({ text: "é".repeat(5000) }), attempt: 1 }] } } },
  { service: "CoordinatorService", method: "SendHeartbeat", side: "request", value: { workerId: 1, handlers: [], holding: ["a", "", "ü"] } },
];

describe("fast serializers", () => {
  test.each(cases)("$service $method $side: proto-loader's bytes, read back the same", ({ service, method, side, value }) => {
    const ours = methodOf(service, method);
    const theirs = originalOf(service, method);
    const serialize = side === "request" ? ours.requestSerialize : ours.responseSerialize;
    const bytes = serialize(value);
    expect(bytes.equals(side === "request" ? theirs.requestSerialize(value) : theirs.responseSerialize(value))).toBe(true);
    const back = (side === "request" ? theirs.requestDeserialize : theirs.responseDeserialize)(bytes);
    const expected = (side === "request" ? theirs.requestDeserialize : theirs.responseDeserialize)(
      side === "request" ? theirs.requestSerialize(value) : theirs.responseSerialize(value),
    );
    expect(back).toEqual(expected);
  });

  test("enum names become their numbers on the wire, without changing the caller's object", () => {
    const value = { call_id: 1, request: { worker_id: 1, reports: [{ ...report, status: "FAILED" as const }] } };
    const bytes = methodOf("CoordinatorService", "ReportStream").requestSerialize(value);
    const back = originalOf("CoordinatorService", "ReportStream").requestDeserialize(bytes) as { request: { reports: { status: string }[] } };
    expect(back.request.reports[0]!.status).toBe("FAILED");
    expect(value.request.reports[0]!.status).toBe("FAILED");
  });

  test("an array is refused, as proto-loader refuses it", () => {
    expect(() => methodOf("WorkerService", "SubmitTask").requestSerialize([] as unknown as object)).toThrow(/expected object with TaskRequest structure/);
  });
});
