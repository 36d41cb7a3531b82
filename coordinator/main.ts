// The coordinator process: `npm run coordinator`. Settings are read and checked once, here.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { createSqlClient, embeddedDatabaseUrl } from "../prisma/mod.ts";
import {
  ConfigError,
  createLogger,
  databaseSettings,
  databaseUrlFromSettings,
  intSetting,
  logSettings,
  parseConfig,
  portSetting,
} from "../shared/mod.ts";
import { z } from "zod";
import { DEFAULT_CLAIM_BATCH_SIZE, startCoordinator } from "./coordinator_node.ts";

let config;
try {
  config = parseConfig(
    {
      ...logSettings,
      ...databaseSettings,
      COORDINATOR_PORT: portSetting(8080),
      COORDINATOR_ID: z.string().min(1).max(200).optional(),
      HEARTBEAT_INTERVAL_MS: intSetting(5000, 50, 600_000),
      HEARTBEAT_MISSES: intSetting(3, 1, 100),
      LEASE_MS: intSetting(30_000, 500, 86_400_000),
      SAFETY_POLL_MS: intSetting(5000, 100, 600_000),
      LEASE_SWEEP_INTERVAL_MS: intSetting(2000, 100, 600_000),
      DISPATCH_TIMEOUT_MS: intSetting(5000, 100, 600_000),
      RETRY_BASE_MS: intSetting(1000, 0, 3_600_000),
      RETRY_MAX_MS: intSetting(60_000, 0, 86_400_000),
      CLAIM_BATCH_SIZE: intSetting(DEFAULT_CLAIM_BATCH_SIZE, 1, 10_000),
      HANDOFF_SLOTS: intSetting(8, 0, 32),
      // Test-only: the fault suite makes the coordinator kill itself at this instant.
      FAULT_POINT: z.enum(["after_claim", "after_dispatch", "after_handoff"]).optional(),
    },
    process.env,
  );
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`coordinator: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

const log = createLogger({
  json: config.LOG_FORMAT === "json" || (config.LOG_FORMAT === "auto" && !process.stdout.isTTY),
  level: config.LOG_LEVEL,
  fields: { service: "coordinator" },
  write: (line) => process.stdout.write(`${line}\n`),
});
const databaseUrl = databaseUrlFromSettings(config) ?? embeddedDatabaseUrl();
const coordinatorId = config.COORDINATOR_ID ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
const db = createSqlClient(databaseUrl, {
  poolSize: config.DB_POOL_SIZE,
  onPoolError: (error) => log.warn("database connection lost", { error: error.message }),
});

const coordinator = await startCoordinator({
  db,
  databaseUrl,
  port: config.COORDINATOR_PORT,
  coordinatorId,
  log: log.child({ coordinator_id: coordinatorId }),
  heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
  heartbeatMisses: config.HEARTBEAT_MISSES,
  leaseMs: config.LEASE_MS,
  safetyPollMs: config.SAFETY_POLL_MS,
  sweepIntervalMs: config.LEASE_SWEEP_INTERVAL_MS,
  dispatchTimeoutMs: config.DISPATCH_TIMEOUT_MS,
  retryBaseMs: config.RETRY_BASE_MS,
  retryMaxMs: config.RETRY_MAX_MS,
  claimBatchSize: config.CLAIM_BATCH_SIZE,
  handoffSlots: config.HANDOFF_SLOTS,
  onFaultPoint: (point) => {
    if (point !== config.FAULT_POINT) return;
    log.warn("FAULT_POINT reached: killing this coordinator (SIGKILL)", { point });
    process.kill(process.pid, "SIGKILL");
  },
});
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info("stopping", { signal });
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  await coordinator.close();
  await db.end();
  process.exit(0);
};
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
if (process.send) process.on("disconnect", () => void stop("parent exited"));
// Only after the signals are listened for: whoever reads this line may signal at once.
log.info("ready", { port: coordinator.port, coordinator_id: coordinatorId });
