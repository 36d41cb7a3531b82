import type { PrismaClient } from "../prisma/mod.ts";
import { TASK_STATUSES, type TaskStatusName } from "../shared/mod.ts";

/**
 * Tasks per status, every status present (zeros included), as exact as `count(*)` and from one
 * statement (one instant), whatever the table's size: it sums the `task_status_counts` rows that
 * the `tasks` triggers keep (at most 16 per status), instead of counting the tasks.
 */
export async function countTasksByStatus(prisma: PrismaClient): Promise<Record<TaskStatusName, number>> {
  const groups = await prisma.taskStatusCount.groupBy({ by: ["status"], _sum: { n: true } });
  const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatusName, number>;
  for (const g of groups) counts[g.status] = Number(g._sum.n ?? 0n);
  return counts;
}
