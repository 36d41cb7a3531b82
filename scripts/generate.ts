// Generates the code that is not committed: Prisma Client (prisma/_generated) and the gRPC types
// (proto/_generated). Runs on `npm install` (postinstall) and by `npm run generate`.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name: string) => join(root, "node_modules", ".bin", name);

// `prisma generate` first looks for its native schema engine, which it cannot download here; it
// never runs it, so any existing file satisfies the check.
execFileSync(bin("prisma"), ["generate", "--config", "prisma/prisma.config.ts"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: join(root, "package.json"), PRISMA_HIDE_UPDATE_MESSAGE: "1" },
});

const protoOut = join(root, "proto", "_generated");
rmSync(protoOut, { recursive: true, force: true });
execFileSync(
  bin("proto-loader-gen-types"),
  ["--keepCase", "--longs=Number", "--enums=String", "--defaults", "--arrays", "--oneofs", "--includeComments",
    "--grpcLib=@grpc/grpc-js", "-O", protoOut, "proto/api.proto"],
  { cwd: root, stdio: "inherit" },
);
// The generator writes extensionless relative imports; this project resolves like Node (nodenext).
const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
for (const file of walk(protoOut).filter((f) => f.endsWith(".ts"))) {
  const text = readFileSync(file, "utf8").replace(/from '(\.{1,2}\/[^']+)'/g, "from '$1.ts'");
  writeFileSync(file, text);
}
console.log("Generated proto/_generated");
