import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./_generated/client.ts";

/** Options for {@linkcode createPrismaClient}. */
export interface PrismaClientOptions {
  /** Most connections the client's pool opens. Default 10. */
  poolSize?: number;
  /** Called when an idle pooled connection fails (e.g. PostgreSQL restarted); the pool replaces it. */
  onPoolError?: (error: Error) => void;
}

/**
 * A Prisma Client on `databaseUrl` through the pg driver adapter (no native query engine), with a
 * bounded pool that gives up on a dead server after 5 s instead of hanging.
 */
export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg(
    {
      connectionString: databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
    },
    { onPoolError: options.onPoolError ?? (() => {}) },
  );
  return new PrismaClient({ adapter });
}
