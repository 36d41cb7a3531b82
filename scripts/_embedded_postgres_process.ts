// Holds the embedded PostgreSQL server for a launch script, in a process group of its own, so that a
// terminal's Ctrl-C (sent to the whole foreground group) does not shut the database down while the
// launcher is still draining the processes that use it. Started by scripts/_database.ts with:
//   node --import tsx scripts/_embedded_postgres_process.ts '{"dataDir":...,"port":...,"database":...}'
// and an IPC channel. Messages out: {type:"log",line} {type:"ready",url,startedHere,dataDirectory}
// {type:"error",message,portInUse}. Message in: "stop". When the channel closes (the launcher died)
// it stops the server too.
import { type EmbeddedPostgresServer, startEmbeddedPostgres } from "../prisma/mod.ts";
import { portIsFree } from "./_ports.ts";
import pg from "pg";

/** What the launcher sends to this process (argv[2], JSON). */
interface HelperOptions {
  dataDir: string;
  port: number;
  database: string;
}

type Outgoing =
  | { type: "log"; line: string }
  | { type: "ready"; url: string; startedHere: boolean; dataDirectory: string | null }
  | { type: "error"; message: string; portInUse: boolean };

const send = (message: Outgoing) => {
  if (process.connected) process.send?.(message);
};

async function dataDirectoryOf(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    const result = await client.query<{ data_directory: string }>("SHOW data_directory");
    return result.rows[0]?.data_directory ?? null;
  } catch {
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? "{}") as HelperOptions;
  let stopRequested = false;
  let stopServer: (() => Promise<void>) | undefined;
  const stop = async () => {
    stopRequested = true;
    if (!stopServer) return; // still starting: stopped right after start
    const run = stopServer;
    stopServer = undefined;
    await run().catch(() => {});
    process.exit(0);
  };
  process.on("message", (message) => {
    if (message === "stop") void stop();
  });
  process.on("disconnect", () => void stop());
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());

  let server: EmbeddedPostgresServer;
  try {
    server = await startEmbeddedPostgres({
      dataDir: options.dataDir,
      port: options.port,
      database: options.database,
      log: (line) => {
        if (line) send({ type: "log", line });
      },
    });
  } catch (error) {
    const portInUse = !(await portIsFree(options.port, "127.0.0.1").catch(() => true));
    const message = error instanceof Error ? error.message : String(error ?? "the server exited during start");
    send({ type: "error", message, portInUse });
    process.exit(1);
  }
  send({
    type: "ready",
    url: server.url,
    startedHere: server.startedHere,
    dataDirectory: server.startedHere ? options.dataDir : await dataDirectoryOf(server.urlFor("postgres")),
  });
  if (!server.startedHere) process.exit(0); // someone else's server: nothing to hold
  const started = server;
  stopServer = () => started.stop();
  if (stopRequested || !process.connected) await stop();
}

await main();
