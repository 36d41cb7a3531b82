// docker-compose.yml and the Dockerfile say what the README promises. There is no Docker engine in
// CI, so this reads the files only. The YAML parser is the `yaml` package that is already installed
// (through vite and testcontainers); when it is not, these tests are skipped rather than a
// dependency added for them.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./_process.ts";

const yaml = await import("yaml").catch(() => undefined);

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  restart?: string;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
  volumes?: string[];
}

const read = (file: string) => readFileSync(join(repoRoot, file), "utf8");
const compose = yaml
  ? (yaml.parse(read("docker-compose.yml"), { merge: true }) as { services: Record<string, Service>; volumes?: object })
  : undefined;
const service = (name: string): Service => {
  const found = compose?.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
};
const commandOf = (s: Service) => (Array.isArray(s.command) ? s.command.join(" ") : (s.command ?? ""));

describe.skipIf(!yaml)("docker-compose.yml", () => {
  it("defines postgres, migrate, coordinator, server and worker", () => {
    expect(Object.keys(compose!.services).sort()).toEqual(["coordinator", "migrate", "postgres", "server", "worker"]);
  });

  it("runs postgres:16 with a named volume and a health check", () => {
    const postgres = service("postgres");
    expect(postgres.image).toBe("postgres:16");
    expect(postgres.volumes?.some((v) => v.endsWith(":/var/lib/postgresql/data"))).toBe(true);
    expect(postgres.healthcheck?.test.join(" ")).toContain("pg_isready");
  });

  it("migrates once with npm run db:migrate after postgres is healthy", () => {
    const migrate = service("migrate");
    expect(commandOf(migrate)).toBe("npm run db:migrate");
    expect(JSON.parse(read("package.json")).scripts["db:migrate"]).toBeDefined();
    expect(migrate.restart).toBe("no");
    expect(migrate.depends_on).toMatchObject({ postgres: { condition: "service_healthy" } });
  });

  it("starts the coordinator and the server only after the migration succeeded", () => {
    for (const name of ["coordinator", "server"]) {
      expect(service(name).depends_on).toMatchObject({ migrate: { condition: "service_completed_successfully" } });
    }
  });

  it("runs every role from the one image, each with a main.ts that exists and a restart policy", () => {
    for (const name of ["coordinator", "server", "worker"]) {
      const s = service(name);
      expect(s.build).toBe(".");
      expect(s.restart).toBe("unless-stopped");
      expect(commandOf(s)).toContain(`node --import tsx ${name}/main.ts`);
      expect(existsSync(join(repoRoot, name, "main.ts"))).toBe(true);
    }
  });

  it("publishes the server on 8081 with the local worker scaler off", () => {
    const server = service("server");
    expect(server.ports).toContain("8081:8081");
    expect(server.environment).toMatchObject({ SCHEDULER_PORT: ":8081", WORKER_SCALER: "none" });
  });

  it("points workers at the coordinator and has each advertise its own container address", () => {
    const worker = service("worker");
    expect(worker.environment).toMatchObject({ COORDINATOR: "coordinator:8080" });
    expect(commandOf(worker)).toContain("WORKER_ADDRESS=");
    expect(commandOf(worker)).toContain("hostname -i");
    expect(worker.ports ?? []).toEqual([]); // published ports would stop --scale
  });

  it("needs no secret: every password is ${POSTGRES_PASSWORD:-postgres}", () => {
    for (const [name, s] of Object.entries(compose!.services)) {
      const password = s.environment?.["POSTGRES_PASSWORD"];
      if (password !== undefined) expect(password, name).toBe("${POSTGRES_PASSWORD:-postgres}");
    }
  });
});

describe("Dockerfile", () => {
  it("builds one node:20-slim image with npm ci", () => {
    const dockerfile = read("Dockerfile");
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
  });

  it("copies what npm ci's postinstall step reads before running it", () => {
    const dockerfile = read("Dockerfile");
    const beforeInstall = dockerfile.slice(0, dockerfile.search(/^RUN npm ci\b/m));
    for (const file of ["scripts/generate.ts", "prisma/schema.prisma", "prisma/prisma.config.ts", "proto/api.proto"]) {
      expect(existsSync(join(repoRoot, file)), file).toBe(true);
      expect(beforeInstall, file).toContain(file);
    }
  });
});
