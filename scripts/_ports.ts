// Port checks for the launch scripts: fail fast, naming the setting, instead of a child's EADDRINUSE.
import { createServer } from "node:net";

/** True when nothing listens on `port` (tries to bind it on `host`; default every address). */
export function portIsFree(port: number, host?: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE" || error.code === "EACCES") resolve(false);
      else reject(error);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port another program holds: the message names the port and the setting that chose it. */
export class PortInUseError extends Error {
  constructor(port: number, setting: string, value: string | undefined) {
    const chosenBy = value === undefined ? `the default of ${setting}` : `${setting}=${JSON.stringify(value)}`;
    super(`Port ${port} (${chosenBy}) is already in use. Stop the program listening there, or set ${setting} to a free port.`);
    this.name = "PortInUseError";
  }
}

/** Throws {@linkcode PortInUseError} for the first port in `ports` that is taken. */
export async function assertPortsFree(
  ports: { port: number; setting: string; env: Record<string, string | undefined>; host?: string }[],
): Promise<void> {
  for (const { port, setting, env, host } of ports) {
    if (port !== 0 && !(await portIsFree(port, host))) throw new PortInUseError(port, setting, env[setting]);
  }
}
