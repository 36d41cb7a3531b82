import pg from "pg";

/** Channels the database announces changes on (see the init migration's triggers). */
export const CHANNELS = {
  /** `{"op":"I"|"U","n":count,"rows":[{id,status,attempt,worker_id,command,progress}]|null}` */
  tasks: "taskmaster_tasks",
  /** The earliest `scheduled_at` (epoch ms) of tasks that just became SCHEDULED. */
  due: "taskmaster_due",
  /** `{"id","status","address","previous_status"}` for each changed worker row. */
  workers: "taskmaster_workers",
  /** `{"coordinator","tasks":[{offer,id,attempt,worker,command?,payload?,timeout_ms?}]}`: tasks handed to a coordinator's offered slots (coordinator/task_offers.ts). */
  handoff: "taskmaster_handoff",
} as const;

/** Options for {@linkcode listenForNotifications}. */
export interface ListenOptions {
  /** Called after every (re)connection once LISTEN is in place: resynchronise here, since
   * notifications sent while disconnected are lost. */
  onConnected?: (reconnected: boolean) => void;
  /** Called when the connection drops (a reconnect is scheduled). */
  onDisconnected?: (error: Error) => void;
  /** Backoff between reconnection attempts: `min(maxDelayMs, baseDelayMs * 2^n)`, fully jittered. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** A live LISTEN subscription. */
export interface NotificationListener {
  /** Resolves once the first LISTEN is in place. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * LISTENs on `channels` over one dedicated connection (Prisma cannot hold one open) and calls
 * `onNotification(channel, payload)` for each NOTIFY. Reconnects by itself with jittered exponential
 * backoff when PostgreSQL restarts or the connection drops.
 */
export function listenForNotifications(
  databaseUrl: string,
  channels: readonly string[],
  onNotification: (channel: string, payload: string) => void,
  options: ListenOptions = {},
): NotificationListener {
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5000;
  let closed = false;
  let client: pg.Client | undefined;
  let failures = 0;
  let connectedOnce = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));

  const scheduleReconnect = (error: Error) => {
    if (closed) return;
    options.onDisconnected?.(error);
    const delay = Math.random() * Math.min(max, base * 2 ** failures);
    failures++;
    clearTimeout(timer);
    timer = setTimeout(connect, delay);
  };

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000, keepAlive: true });
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      c.removeAllListeners("notification");
      c.end().catch(() => {});
      if (client === c) client = undefined;
      scheduleReconnect(error);
    };
    c.on("error", fail);
    c.on("end", () => fail(new Error("connection ended")));
    c.on("notification", (msg) => onNotification(msg.channel, msg.payload ?? ""));
    try {
      await c.connect();
      for (const channel of channels) await c.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
    } catch (error) {
      fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (closed) {
      await c.end().catch(() => {});
      return;
    }
    client = c;
    failures = 0;
    options.onConnected?.(connectedOnce);
    connectedOnce = true;
    resolveReady();
  };

  void connect();
  return {
    ready,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      const c = client;
      client = undefined;
      if (c) {
        c.removeAllListeners();
        c.on("error", () => {});
        await c.end().catch(() => {});
      }
    },
  };
}
