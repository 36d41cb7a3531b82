import type { PrismaClient } from "../prisma/mod.ts";

/**
 * Marks worker `id` OFFLINE (when it is not already), so coordinators requeue its tasks at once
 * (they LISTEN on taskmaster_workers). Returns whether a row changed. Used only by the local worker
 * scaler, for a child process it started that exited (CONTRACTS.md: the one write to workers the
 * server makes).
 */
export async function markWorkerOffline(prisma: PrismaClient, id: number): Promise<boolean> {
  const { count } = await prisma.worker.updateMany({
    where: { id: BigInt(id), status: { not: "OFFLINE" } },
    data: { status: "OFFLINE" },
  });
  return count > 0;
}

/** True when the workers table has a row for `id` (a worker some coordinator has seen). */
export async function workerExists(prisma: PrismaClient, id: number): Promise<boolean> {
  const row = await prisma.worker.findUnique({ where: { id: BigInt(id) }, select: { id: true } });
  return row !== null;
}
