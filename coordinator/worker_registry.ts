import type { WorkerBeat } from "./worker_rows.ts";

/** A worker this coordinator knows from its heartbeats. */
export interface RegisteredWorker<Client> {
  id: number;
  address: string;
  capacity: number;
  handlers: string[];
  draining: boolean;
  /** It takes many tasks in one SubmitTasks call. */
  batchDispatch: boolean;
  /** Local monotonic time (ms) of the last heartbeat. */
  lastBeatAt: number;
  /** Attempts dispatched to it and not yet finished, keyed `${taskId}/${attempt}`. */
  inFlight: Set<string>;
  /** Dispatch failed: no new work until its next heartbeat. */
  suspended: boolean;
  client: Client;
}

/** What happened to the registry on a heartbeat. */
export type BeatResult = "joined" | "updated" | "restarted";

/**
 * The coordinator's view of its workers: who is alive, their free slots, which attempts each
 * holds. Pure bookkeeping (no I/O, no clock): times are passed in. `Client` is the gRPC client type.
 */
export class WorkerRegistry<Client> {
  #workers = new Map<number, RegisteredWorker<Client>>();
  /** taskId -> who holds its current attempt, and whether the worker said it started it. */
  #holders = new Map<string, { workerId: number; attempt: number; started?: boolean }>();
  /** Slots offered for the idle hand-off (see task_offers.ts): offer id -> worker. */
  #offers = new Map<string, number>();
  #rotation = 0;
  #createClient: (address: string) => Client;
  #closeClient: (client: Client) => void;

  constructor(createClient: (address: string) => Client, closeClient: (client: Client) => void) {
    this.#createClient = createClient;
    this.#closeClient = closeClient;
  }

  /** Records a heartbeat. A worker whose address changed is a new process under the same id. */
  beat(beat: WorkerBeat, now: number): { result: BeatResult; lost: string[]; lostStarted: string[] } {
    const known = this.#workers.get(beat.id);
    if (known && known.address === beat.address) {
      known.capacity = beat.capacity;
      known.handlers = beat.handlers;
      known.draining = beat.draining;
      known.batchDispatch = beat.batchDispatch ?? false;
      known.lastBeatAt = now;
      known.suspended = false;
      return { result: "updated", lost: [], lostStarted: [] };
    }
    const lostStarted = known ? this.startedTaskIds(beat.id) : [];
    const lost = known ? this.remove(beat.id) : [];
    this.#workers.set(beat.id, {
      id: beat.id,
      address: beat.address,
      capacity: beat.capacity,
      handlers: beat.handlers,
      draining: beat.draining,
      batchDispatch: beat.batchDispatch ?? false,
      lastBeatAt: now,
      inFlight: new Set(),
      suspended: false,
      client: this.#createClient(beat.address),
    });
    return { result: known ? "restarted" : "joined", lost, lostStarted };
  }

  /** Forgets a worker; returns the task ids it held. */
  remove(workerId: number): string[] {
    const worker = this.#workers.get(workerId);
    if (!worker) return [];
    this.#workers.delete(workerId);
    this.#closeClient(worker.client);
    for (const [offerId, offeredTo] of this.#offers) if (offeredTo === workerId) this.#offers.delete(offerId);
    const held: string[] = [];
    for (const key of worker.inFlight) {
      const taskId = key.slice(0, key.lastIndexOf("/"));
      held.push(taskId);
      if (this.#holders.get(taskId)?.workerId === workerId) this.#holders.delete(taskId);
    }
    return held;
  }

  /** Counts every worker as heard from at `now` (after the coordinator itself stalled). */
  touchAll(now: number): void {
    for (const w of this.#workers.values()) w.lastBeatAt = now;
  }

  /** Workers whose last heartbeat is older than `timeoutMs`. */
  silentWorkers(now: number, timeoutMs: number): number[] {
    return [...this.#workers.values()].filter((w) => now - w.lastBeatAt > timeoutMs).map((w) => w.id);
  }

  get(workerId: number): RegisteredWorker<Client> | undefined {
    return this.#workers.get(workerId);
  }

  all(): RegisteredWorker<Client>[] {
    return [...this.#workers.values()];
  }

  /** Workers that may be sent work: not draining, not suspended. */
  available(): RegisteredWorker<Client>[] {
    return this.all().filter((w) => !w.draining && !w.suspended);
  }

  /** A worker's slots taken: attempts in flight and slots it has on offer. */
  #used(w: RegisteredWorker<Client>): number {
    let offered = 0;
    for (const workerId of this.#offers.values()) if (workerId === w.id) offered++;
    return w.inFlight.size + offered;
  }

  /** Free slots across available workers (neither in flight nor on offer). */
  freeSlots(): number {
    return this.available().reduce((n, w) => n + Math.max(0, w.capacity - this.#used(w)), 0);
  }

  /** Records slots offered for the hand-off (offer id and its worker): they are not free meanwhile. */
  addOffers(offers: { id: string; workerId: number }[]): void {
    for (const o of offers) this.#offers.set(o.id, o.workerId);
  }

  /** Forgets an offer (used, withdrawn or lapsed); returns its worker, if it was known. */
  takeOffer(offerId: string): number | undefined {
    const workerId = this.#offers.get(offerId);
    this.#offers.delete(offerId);
    return workerId;
  }

  /** Ids of the offers this registry counts. */
  offerIds(): string[] {
    return [...this.#offers.keys()];
  }

  /**
   * Commands that some worker has a handler for while none of those workers has a free slot: not
   * worth claiming now (no other worker should run them).
   */
  blockedCommands(): string[] {
    const free = new Set<string>();
    const offered = new Set<string>();
    for (const w of this.available()) {
      for (const h of w.handlers) {
        offered.add(h);
        if (w.capacity > this.#used(w)) free.add(h);
      }
    }
    return [...offered].filter((h) => !free.has(h));
  }

  /**
   * Picks a worker for each task, round-robin over workers with free slots, continuing the
   * rotation across calls (8 tasks on 4 idle workers: 2 each, whether they come at once or one
   * by one). A command some worker has a handler for goes only to such workers; any other command
   * to any worker. Tasks that fit nowhere come back in `unplaced`. Marks the placed attempts in flight.
   */
  place<T extends { id: string; attempt: number; command: string }>(
    tasks: T[],
  ): { placed: { task: T; worker: RegisteredWorker<Client> }[]; unplaced: T[] } {
    const order = this.available().sort((a, b) => a.id - b.id);
    const offered = new Set(order.flatMap((w) => w.handlers));
    const placed: { task: T; worker: RegisteredWorker<Client> }[] = [];
    const unplaced: T[] = [];
    for (const task of tasks) {
      const specialised = offered.has(task.command);
      let chosen: RegisteredWorker<Client> | undefined;
      for (let i = 0; i < order.length && !chosen; i++) {
        const w = order[(this.#rotation + i) % order.length]!;
        if (this.#used(w) >= w.capacity) continue;
        if (specialised && !w.handlers.includes(task.command)) continue;
        chosen = w;
        this.#rotation = (this.#rotation + i + 1) % Math.max(1, order.length);
      }
      if (!chosen) {
        unplaced.push(task);
        continue;
      }
      this.hold(chosen.id, task.id, task.attempt);
      placed.push({ task, worker: chosen });
    }
    return { placed, unplaced };
  }

  /**
   * The worker for each of the next `limit` tasks, round-robin over workers with free slots from
   * where the rotation stands (workers 1, 2, 3 with 2 free slots each: 1, 2, 3, 1, 2, 3), so tasks
   * can be claimed and bound in one statement. Null when the available workers differ in the
   * commands they have handlers for: then which worker may run a task depends on its command, and
   * {@linkcode WorkerRegistry.place} must see the tasks first. Changes nothing: see
   * {@linkcode WorkerRegistry.planUsed}.
   */
  slotPlan(limit: number): number[] | null {
    const order = this.available().sort((a, b) => a.id - b.id);
    const free = order.map((w) => Math.max(0, w.capacity - this.#used(w)));
    const handlers = (w: RegisteredWorker<Client>) => [...w.handlers].sort().join("\n");
    if (order.some((w) => handlers(w) !== handlers(order[0]!))) return null;
    const plan: number[] = [];
    for (let round = 0; plan.length < limit; round++) {
      let added = false;
      for (let i = 0; i < order.length && plan.length < limit; i++) {
        const k = (this.#rotation + i) % order.length;
        if (free[k]! > round) {
          plan.push(order[k]!.id);
          added = true;
        }
      }
      if (!added) break;
    }
    return plan;
  }

  /** Moves the rotation past the workers of the first `used` entries of a {@linkcode slotPlan}. */
  planUsed(plan: number[], used: number): void {
    if (used === 0) return;
    const order = this.available().sort((a, b) => a.id - b.id);
    const last = order.findIndex((w) => w.id === plan[used - 1]);
    if (last >= 0) this.#rotation = (last + 1) % order.length;
  }

  /**
   * Records that the worker holding `taskId` at `attempt` started it (its STARTED was accepted).
   * False when this registry does not have it so.
   */
  markStarted(taskId: string, attempt: number, workerId: number): boolean {
    const holder = this.#holders.get(taskId);
    if (!holder || holder.attempt !== attempt || (workerId !== 0 && holder.workerId !== workerId)) return false;
    holder.started = true;
    return true;
  }

  /** Tasks whose current attempt `workerId` holds and said it started. */
  startedTaskIds(workerId: number): string[] {
    const worker = this.#workers.get(workerId);
    if (!worker) return [];
    return [...this.#holders].filter(([, h]) => h.workerId === workerId && h.started).map(([taskId]) => taskId);
  }

  /** Records that `workerId` holds attempt `attempt` of `taskId`. */
  hold(workerId: number, taskId: string, attempt: number): void {
    const worker = this.#workers.get(workerId);
    if (!worker) return;
    this.release(taskId);
    worker.inFlight.add(`${taskId}/${attempt}`);
    this.#holders.set(taskId, { workerId, attempt });
  }

  /** The worker holding `taskId`'s current attempt, if this coordinator dispatched it (and whether it said it started it). */
  holder(taskId: string): { workerId: number; attempt: number; started?: boolean } | undefined {
    return this.#holders.get(taskId);
  }

  /** Ids of the tasks whose current attempt a worker of this coordinator holds. */
  heldTaskIds(): string[] {
    return [...this.#holders.keys()];
  }

  /** Frees the slot `taskId` held (any attempt). Returns the worker that held it. */
  release(taskId: string): number | undefined {
    const holder = this.#holders.get(taskId);
    if (!holder) return undefined;
    this.#holders.delete(taskId);
    this.#workers.get(holder.workerId)?.inFlight.delete(`${taskId}/${holder.attempt}`);
    return holder.workerId;
  }
}
