/**
 * TaskMaster's gRPC contract (`api.proto`, package `grpcapi`), wire-compatible with the seed's, and
 * the typed definitions generated from it.
 *
 * @module
 */
export { apiProtoPath, loadGrpcApi, protoLoaderOptions, seedProtoPath } from "./grpc_api.ts";
export { createStreamedCaller, serveStreamedCalls } from "./streamed_calls.ts";
export type { CallCallback, UnaryMethod } from "./streamed_calls.ts";
export type { ProtoGrpcType } from "./_generated/api.ts";
export type { CoordinatorServiceClient, CoordinatorServiceHandlers } from "./_generated/grpcapi/CoordinatorService.ts";
export type { WorkerServiceClient, WorkerServiceHandlers } from "./_generated/grpcapi/WorkerService.ts";
export type { CancelTaskRequest, CancelTaskRequest__Output } from "./_generated/grpcapi/CancelTaskRequest.ts";
export type { ClientTaskRequest__Output } from "./_generated/grpcapi/ClientTaskRequest.ts";
export type { ClientTaskResponse } from "./_generated/grpcapi/ClientTaskResponse.ts";
export type { HeartbeatRequest, HeartbeatRequest__Output } from "./_generated/grpcapi/HeartbeatRequest.ts";
export type { HeartbeatResponse, HeartbeatResponse__Output } from "./_generated/grpcapi/HeartbeatResponse.ts";
export type { ProgressReport, ProgressReport__Output } from "./_generated/grpcapi/ProgressReport.ts";
export type { ReportBatchRequest, ReportBatchRequest__Output } from "./_generated/grpcapi/ReportBatchRequest.ts";
export type { ReportBatchResponse, ReportBatchResponse__Output } from "./_generated/grpcapi/ReportBatchResponse.ts";
export type { ReportResult, ReportResult__Output } from "./_generated/grpcapi/ReportResult.ts";
export type { ReportCode__Output } from "./_generated/grpcapi/ReportCode.ts";
export type { TaskBatch, TaskBatch__Output } from "./_generated/grpcapi/TaskBatch.ts";
export type { TaskBatchCall, TaskBatchCall__Output } from "./_generated/grpcapi/TaskBatchCall.ts";
export type { TaskBatchReply, TaskBatchReply__Output } from "./_generated/grpcapi/TaskBatchReply.ts";
export type { ReportBatchCall, ReportBatchCall__Output } from "./_generated/grpcapi/ReportBatchCall.ts";
export type { ReportBatchReply, ReportBatchReply__Output } from "./_generated/grpcapi/ReportBatchReply.ts";
export type { TaskBatchResponse, TaskBatchResponse__Output } from "./_generated/grpcapi/TaskBatchResponse.ts";
export type { TaskRequest, TaskRequest__Output } from "./_generated/grpcapi/TaskRequest.ts";
export type { TaskResponse, TaskResponse__Output } from "./_generated/grpcapi/TaskResponse.ts";
export type { TaskStatus__Output } from "./_generated/grpcapi/TaskStatus.ts";
export type { UpdateTaskStatusRequest, UpdateTaskStatusRequest__Output } from "./_generated/grpcapi/UpdateTaskStatusRequest.ts";
export type { UpdateTaskStatusResponse } from "./_generated/grpcapi/UpdateTaskStatusResponse.ts";
