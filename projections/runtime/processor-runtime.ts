import { EventEmitter } from "node:events";
import {
  type DocumentStore,
  DocumentStoreUnavailableError,
  WriteConditionFailedError,
  type WriteOp,
} from "../../document-store/port.js";
import { decodeEvent, type StoredDomainEvent } from "../../event-store/codec.js";
import { EventStoreUnavailableError } from "../../event-store/errors.js";
import type { EventStore, LogMessage, RecordedEvent } from "../../event-store/port.js";
import { isAfter, type Position } from "../../event-store/position.js";
import type { Logger } from "../../platform/logger.js";
import type { Metrics } from "../../platform/metrics.js";
import { endSpan, startSpan, traced, tracingOn } from "../../platform/tracing.js";
import type { Projection } from "../read-models/projection.js";
import {
  activeGenerations,
  checkpointOp,
  type ProjectionRunState,
  physicalCollection,
  readCheckpoint,
} from "./checkpoints.js";
import type { Leases } from "./leases.js";
import { isReactor, type Processor, type Reactor, type ReactorContext } from "./processor.js";
import { ResubscribeSignal, SubscriptionLoop } from "./subscription-loop.js";

export interface ProcessorRuntimeOptions {
  readonly processors: readonly Processor[];
  readonly eventStore: EventStore;
  readonly documentStore: DocumentStore;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly batchSize: number;
  readonly flushMs?: number;
  /**
   * "active": follow each projection's active generation, switching when a replay activates a
   * new one (the live service). A map: build exactly these generations (a replay).
   */
  readonly generation: "active" | ReadonlyMap<string, number>;
  /**
   * Leave the read-model indexes to createIndexes() (a rebuild: a bulk load into empty
   * collections is much faster without maintaining every index on every insert).
   */
  readonly deferIndexes?: boolean;
  /**
   * Work only on the processors whose lease this process holds (several projector processes);
   * without, it works on every processor (one process, or a replay's own generations).
   */
  readonly leases?: Leases;
  /** What time it is for reactors (ms since the epoch): the system clock unless a test drives it. */
  readonly clock?: () => number;
}

interface Entry {
  readonly processor: Processor;
  generation: number;
  position: Position | null;
  state: ProjectionRunState;
  /** Set once the subscription has reported "caught up" and everything before it is stored. */
  caughtUp: boolean;
  /** With leases: the epoch (fencing token) of the lease held, or null while standing by. */
  epoch: number | null;
  error?: string;
  readonly names: Map<string, string>;
  readonly collection: (logical: string) => string;
}

export interface ProcessorStatus {
  readonly name: string;
  readonly kind: "projection" | "reactor";
  readonly generation: number;
  readonly position: Position | null;
  readonly state: ProjectionRunState;
  /** Everything that was in the log when it subscribed has been processed (live since). */
  readonly caughtUp: boolean;
  /** With leases: whether this process works on it ("held") or stands by. */
  readonly lease?: "held" | "standby";
  readonly error?: string;
}

const GENERATION_CHECK_MS = 250;

/** The projection whose commit makes a reservation visible to GET /reservations/{id}. */
const VISIBLE_IN = "reservations";

type Decode = (record: RecordedEvent) => StoredDomainEvent | Error;

/**
 * The one runtime for everything that follows the log: read-model projections and reactors (the
 * coupon policy). It runs a set of processors over one subscription to the global log (their
 * event types, plus the store's progress messages), in batches. Per batch, reactors act first
 * (their effects are idempotent), then every projection's writes and every processor's checkpoint
 * commit in one atomic document-store write, so a projection's effect lands exactly once even if
 * the process dies mid-batch. Checkpoints advance through events a processor does not handle, up
 * to what the store reports as examined. A processor that cannot handle an event stops (the
 * others go on), recorded with its position and error; a store outage drops the subscription and
 * the loop resubscribes from the checkpoints after a backoff.
 */
export class ProcessorRuntime {
  private readonly entries = new Map<string, Entry>();
  private loop: SubscriptionLoop | undefined;
  private readonly events = new EventEmitter();
  private lastGenerationCheck = 0;
  private generationTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private leaseRound: Promise<void> | undefined;
  private readonly tickTimers: NodeJS.Timeout[] = [];
  private readonly ticking = new Map<string, Promise<void>>();
  private stopping = false;

  constructor(private readonly options: ProcessorRuntimeOptions) {
    this.events.setMaxListeners(0);
  }

  async start(): Promise<void> {
    await this.load();
    if (this.options.leases) {
      await this.renewLeases();
      this.leaseTimer = setInterval(() => void this.renewLeases(), this.options.leases.options.renewMs);
      this.leaseTimer.unref();
    }
    const types = new Set(this.options.processors.flatMap((p) => [...p.eventTypes]));
    this.loop = new SubscriptionLoop({
      name: `processors:${this.options.processors.map((p) => p.name).join(",")}`,
      eventStore: this.options.eventStore,
      filter: { eventTypes: [...types] },
      logger: this.options.logger,
      batchSize: this.options.batchSize,
      flushMs: this.options.flushMs ?? 5,
      maxPending: this.options.batchSize * 20,
      resumeFrom: async () => {
        await this.switchGenerations();
        const running = this.working();
        if (running.length === 0) return null; // a standby for everything: wait for a lease
        if (running.some((e) => e.position === null)) return "start";
        return running.map((e) => e.position as Position).reduce((a, b) => (isAfter(a, b) ? b : a));
      },
      handleBatch: (batch) => this.applyBatch(batch),
      onDrop: () => {
        for (const name of this.entries.keys())
          this.options.metrics?.projectionFailures.inc({ projection: name, kind: "dropped" });
      },
    });
    for (const processor of this.options.processors) {
      if (!isReactor(processor) || !processor.tick) continue;
      const timer = setInterval(() => void this.tick(processor), processor.tick.everyMs);
      timer.unref();
      this.tickTimers.push(timer);
    }
    if (this.options.generation === "active") {
      // Also look while no events come: a batch handled just as a replay activated its generation
      // went to the old one, and with no later batch the new one would never get it.
      let checking = false;
      this.generationTimer = setInterval(() => {
        if (checking) return;
        checking = true;
        this.generationsChanged()
          .then((changed) => {
            if (changed) this.loop?.resubscribe("generation changed");
          })
          .catch(() => undefined) // the store is down: the subscription loop will notice
          .finally(() => {
            checking = false;
          });
      }, GENERATION_CHECK_MS);
      this.generationTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.tickTimers.splice(0)) clearInterval(timer);
    await Promise.all(this.ticking.values());
    clearInterval(this.generationTimer);
    this.generationTimer = undefined;
    clearInterval(this.leaseTimer);
    this.leaseTimer = undefined;
    await this.loop?.stop();
    this.loop = undefined;
    await this.leaseRound;
    // The batch in flight is stored: hand the leases over at once instead of letting them expire.
    const { leases } = this.options;
    if (leases) {
      for (const entry of this.entries.values()) {
        if (entry.epoch === null) continue;
        await leases.release(entry.processor.name, entry.epoch).catch((error: unknown) => {
          this.options.logger.warn(
            { err: error, processor: entry.processor.name },
            "could not release a lease",
          );
        });
        entry.epoch = null;
      }
    }
  }

  /** What a reactor may use to act (see ReactorContext). */
  private contextOf(reactor: Reactor): ReactorContext {
    return {
      eventStore: this.options.eventStore,
      documentStore: this.options.documentStore,
      logger: this.options.logger.child({ reactor: reactor.name }),
      ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      now: this.options.clock ?? Date.now,
    };
  }

  /**
   * One run of a reactor's clock-driven work, if this process works on it and it has caught up
   * with the log; never two at once. Its lease is held only as long as it renews, and whatever the
   * run appends goes through the aggregate's expected revision, so a run that overlaps a takeover
   * cannot record a fact twice.
   */
  private async tick(reactor: Reactor): Promise<void> {
    const entry = this.entries.get(reactor.name);
    if (!reactor.tick || !entry || this.stopping || this.ticking.has(reactor.name)) return;
    if (entry.state === "failed" || !this.holds(entry) || !entry.caughtUp) return;
    const run = reactor.tick
      .run(this.contextOf(reactor))
      .catch((error: unknown) => {
        this.options.logger.warn(
          { err: error, reactor: reactor.name },
          "clock-driven run failed; retried at the next tick",
        );
      })
      .finally(() => this.ticking.delete(reactor.name));
    this.ticking.set(reactor.name, run);
    await run;
  }

  /** The processors this process works on now: held (or no leases) and not failed. */
  private working(): Entry[] {
    return [...this.entries.values()].filter((e) => e.state !== "failed" && this.holds(e));
  }

  private holds(entry: Entry): boolean {
    return this.options.leases === undefined || entry.epoch !== null;
  }

  /** One round of lease work (never two at once): renew what is held, try to take what is not. */
  private renewLeases(): Promise<void> {
    this.leaseRound ??= this.leaseAttempts().finally(() => {
      this.leaseRound = undefined;
    });
    return this.leaseRound;
  }

  private async leaseAttempts(): Promise<void> {
    const { leases, logger, documentStore } = this.options;
    if (!leases || this.stopping) return;
    let changed = false;
    for (const entry of this.entries.values()) {
      const name = entry.processor.name;
      let epoch: number | null;
      try {
        epoch = await leases.attempt(name, entry.epoch);
      } catch (error) {
        // The store is down: keep what we think we hold; the fence refuses our writes if it is gone.
        logger.warn({ err: error, processor: name }, "lease attempt failed");
        continue;
      }
      if (this.stopping) return;
      if (entry.epoch !== null && epoch === null) {
        logger.warn({ processor: name, epoch: entry.epoch }, "lease lost: standing by");
        entry.epoch = null;
        entry.caughtUp = false;
        changed = true;
      } else if (entry.epoch === null && epoch !== null) {
        // Another process may have worked on it: carry on from its stored checkpoint.
        const checkpoint = await readCheckpointSafely(documentStore, name, entry.generation);
        if (checkpoint === undefined) {
          await leases.release(name, epoch).catch(() => undefined);
          continue;
        }
        entry.position = checkpoint?.position ?? null;
        entry.state = "running";
        delete entry.error;
        entry.caughtUp = false;
        entry.epoch = epoch;
        logger.info(
          { processor: name, epoch, position: entry.position?.commit ?? null },
          "lease taken: working",
        );
        changed = true;
      }
    }
    if (changed) this.loop?.resubscribe("leases changed");
  }

  status(): ProcessorStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.processor.name,
      kind: isReactor(e.processor) ? "reactor" : "projection",
      generation: e.generation,
      position: e.position,
      state: e.state,
      caughtUp: e.caughtUp,
      ...(this.options.leases ? { lease: e.epoch !== null ? ("held" as const) : ("standby" as const) } : {}),
      ...(e.error ? { error: e.error } : {}),
    }));
  }

  /** Subscribe to progress: called after every committed batch with each processor's position. */
  onAdvance(listener: (name: string, position: Position) => void): () => void {
    this.events.on("advance", listener);
    return () => this.events.off("advance", listener);
  }

  private async load(): Promise<void> {
    const { documentStore, processors, generation } = this.options;
    const active = generation === "active" ? await activeGenerations(documentStore) : undefined;
    for (const processor of processors) {
      const gen = isReactor(processor)
        ? 1
        : ((generation === "active" ? active?.get(processor.name) : generation.get(processor.name)) ?? 1);
      await this.loadEntry(processor, gen);
    }
  }

  private async loadEntry(processor: Processor, generation: number): Promise<void> {
    const { documentStore } = this.options;
    const collections = isReactor(processor) ? {} : processor.collections;
    const names = new Map(Object.keys(collections).map((l) => [l, physicalCollection(l, generation)]));
    if (!isReactor(processor)) {
      if (this.options.deferIndexes) await this.prepareIndexes(processor, names);
      else await this.ensureIndexes(processor, names);
    }
    const checkpoint = await readCheckpoint(documentStore, processor.name, generation);
    this.entries.set(processor.name, {
      processor,
      generation,
      position: checkpoint?.position ?? null,
      // A processor that failed before is retried on start: the fault may have been fixed.
      state: "running",
      caughtUp: false,
      epoch: this.entries.get(processor.name)?.epoch ?? null,
      names,
      collection: (logical) => {
        const name = names.get(logical);
        if (!name) throw new Error(`projection ${processor.name} does not own collection ${logical}`);
        return name;
      },
    });
    if (checkpoint?.position)
      this.options.metrics?.projectionPosition.set(
        { projection: processor.name },
        checkpoint.position.commit,
      );
  }

  /** Creates every index of every projection's collections (after a bulk load with deferIndexes). */
  async createIndexes(): Promise<void> {
    for (const entry of this.entries.values())
      if (!isReactor(entry.processor)) await this.ensureIndexes(entry.processor, entry.names);
  }

  /** Announces the indexes createIndexes() will build (the embedded store then keeps their fields in columns). */
  private async prepareIndexes(projection: Projection, names: ReadonlyMap<string, string>): Promise<void> {
    for (const [logical, indexes] of Object.entries(projection.collections)) {
      await this.options.documentStore.prepareIndexes(names.get(logical) as string, indexes);
    }
  }

  private async ensureIndexes(projection: Projection, names: ReadonlyMap<string, string>): Promise<void> {
    for (const [logical, indexes] of Object.entries(projection.collections)) {
      await this.options.documentStore.ensureIndexes(names.get(logical) as string, indexes);
    }
  }

  /** In live mode: whether a replay has activated a generation other than the one being maintained. */
  private async generationsChanged(): Promise<boolean> {
    if (this.options.generation !== "active") return false;
    const active = await activeGenerations(this.options.documentStore);
    return [...this.entries.values()].some(
      (e) => !isReactor(e.processor) && (active.get(e.processor.name) ?? 1) !== e.generation,
    );
  }

  /** In live mode, before each (re)subscription: switches to the generations a replay activated. */
  private async switchGenerations(): Promise<void> {
    if (this.options.generation !== "active") return;
    const active = await activeGenerations(this.options.documentStore);
    for (const entry of [...this.entries.values()]) {
      if (isReactor(entry.processor)) continue;
      const generation = active.get(entry.processor.name) ?? 1;
      if (generation !== entry.generation) {
        this.options.logger.info(
          { projection: entry.processor.name, from: entry.generation, to: generation },
          "switching to the generation a replay activated",
        );
        await this.loadEntry(entry.processor, generation);
      }
    }
  }

  /** Between batches (at most every GENERATION_CHECK_MS): resubscribe if a replay activated a new generation. */
  private async followGenerations(): Promise<void> {
    const now = Date.now();
    if (now - this.lastGenerationCheck < GENERATION_CHECK_MS) return;
    this.lastGenerationCheck = now;
    if (await this.generationsChanged()) throw new ResubscribeSignal("generation changed");
  }

  private async applyBatch(batch: readonly LogMessage[]): Promise<void> {
    await this.followGenerations();
    const started = process.hrtime.bigint();
    const decoded = new Map<RecordedEvent, StoredDomainEvent | Error>();
    const decode: Decode = (record) => {
      let result = decoded.get(record);
      if (!result) {
        try {
          result = decodeEvent(record);
        } catch (error) {
          result = error instanceof Error ? error : new Error(String(error));
        }
        decoded.set(record, result);
      }
      return result;
    };

    const working = this.working();
    // The fencing conditions as of now: if a lease is lost from here on, the write is refused.
    const fences = new Map(working.map((entry) => [entry, this.fence(entry)]));
    // Reactors act first: their effects are idempotent, their checkpoints commit with the batch.
    const plans: Plan[] = [];
    for (const entry of working)
      if (isReactor(entry.processor)) plans.push(await this.react(entry, entry.processor, batch, decode));
    for (const entry of working) if (!isReactor(entry.processor)) plans.push(planEntry(entry, batch, decode));
    try {
      await this.options.documentStore.write([
        ...plans.flatMap((plan) => fences.get(plan.entry) ?? []),
        ...plans.flatMap((plan) => plan.ops),
      ]);
    } catch (error) {
      if (error instanceof DocumentStoreUnavailableError) throw error;
      if (error instanceof WriteConditionFailedError) return this.fenced();
      // A write the store refused: find out which projection and event, one at a time.
      await this.isolateFailure(batch, plans, fences, decode, error);
      return;
    }
    this.commit(plans);
    this.observeVisible(plans, decode);
    this.options.metrics?.projectionBatchDuration.observe(
      { projector: "processors" },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
  }

  /**
   * Ack → visible (issue 22): each reservation the reservations projection just made visible, how
   * long after its append was acknowledged (the event's store time), as a histogram and, for a
   * traced one, a span over that time in its trace.
   */
  private observeVisible(plans: readonly Plan[], decode: Decode): void {
    const plan = plans.find((p) => p.entry.processor.name === VISIBLE_IN && p.applied > 0);
    if (!plan?.visible) return;
    const now = Date.now();
    for (const record of plan.visible) {
      if (record.type !== "ParkingReserved") continue;
      const acked = record.createdAt.getTime();
      this.options.metrics?.reservationVisibleLag.observe(Math.max(0, now - acked) / 1000);
      if (!tracingOn()) continue;
      const stored = decode(record);
      if (stored instanceof Error || !stored.metadata.traceparent) continue;
      endSpan(
        startSpan("reservation visible", stored.metadata.traceparent, {
          startTime: acked,
          attributes: {
            "parking.reservation": String((record.data as { reservationId?: unknown }).reservationId),
          },
        }),
      );
    }
  }

  /** With leases: the condition that makes a batch commit only while this process holds the lease. */
  private fence(entry: Entry): WriteOp[] {
    const { leases } = this.options;
    return leases && entry.epoch !== null ? [leases.fence(entry.processor.name, entry.epoch)] : [];
  }

  /** A batch was refused by a fence: a lease was lost meanwhile. Find out which, then start over. */
  private async fenced(): Promise<never> {
    this.options.logger.warn("batch refused: a lease was lost while it was being processed");
    await this.renewLeases();
    throw new ResubscribeSignal("a lease was lost");
  }

  /**
   * Runs a reactor over the batch's events of its types. A failure that is not an outage is
   * pinned down event by event: the reactor stops at the event it cannot handle (its effects
   * before it stay, and its checkpoint records the failure).
   */
  private async react(
    entry: Entry,
    reactor: Reactor,
    batch: readonly LogMessage[],
    decode: Decode,
  ): Promise<Plan> {
    const context = this.contextOf(reactor);
    const selected: { record: RecordedEvent; stored: StoredDomainEvent | Error }[] = [];
    for (const message of batch) {
      if (message.kind !== "event") continue;
      const record = message.event;
      if (entry.position && !isAfter(record.position, entry.position)) continue;
      if (reactor.eventTypes.has(record.type as never)) selected.push({ record, stored: decode(record) });
    }
    const stored = selected.map((s) => s.stored);
    if (!stored.some((s) => s instanceof Error)) {
      try {
        await reactor.react(stored as StoredDomainEvent[], context);
        return planEntry(entry, batch, decode);
      } catch (error) {
        if (isOutage(error)) throw error;
      }
    }
    for (const { record, stored: one } of selected) {
      try {
        if (one instanceof Error) throw one;
        await reactor.react([one], context);
      } catch (error) {
        if (isOutage(error)) throw error;
        const failure = {
          position: record.position,
          error: `${record.type} at ${record.position.commit}: ${error instanceof Error ? error.message : String(error)}`,
        };
        const before = batch.filter(
          (m) => positionOf(m) !== null && isAfter(record.position, positionOf(m) as Position),
        );
        const reached = planEntry(entry, before, decode).position ?? entry.position;
        return failedPlan(entry, reached, failure);
      }
    }
    return planEntry(entry, batch, decode);
  }

  private commit(plans: readonly Plan[]): void {
    for (const plan of plans) {
      const { entry } = plan;
      const name = entry.processor.name;
      if (plan.failure) {
        entry.state = "failed";
        entry.error = plan.failure.error;
        this.options.metrics?.projectionFailures.inc({ projection: name, kind: "event" });
        this.options.logger.error(
          { processor: name, position: plan.failure.position, error: plan.failure.error },
          "processor stopped: it cannot handle an event",
        );
      }
      if (plan.applied > 0) this.options.metrics?.projectionEvents.inc({ projection: name }, plan.applied);
      if (plan.caughtUp) entry.caughtUp = true;
      if (plan.position && (!entry.position || isAfter(plan.position, entry.position))) {
        entry.position = plan.position;
        this.options.metrics?.projectionPosition.set({ projection: name }, plan.position.commit);
        this.events.emit("advance", name, plan.position);
      }
    }
  }

  private async isolateFailure(
    batch: readonly LogMessage[],
    plans: readonly Plan[],
    fences: ReadonlyMap<Entry, WriteOp[]>,
    decode: Decode,
    cause: unknown,
  ): Promise<void> {
    this.options.logger.warn(
      { err: cause },
      "batch write refused; applying event by event to find the fault",
    );
    // Reactors have acted already: store their checkpoints on their own.
    const write = async (plan: Plan) => {
      try {
        await this.options.documentStore.write([...(fences.get(plan.entry) ?? []), ...plan.ops]);
      } catch (error) {
        if (error instanceof WriteConditionFailedError) await this.fenced();
        throw error;
      }
      this.commit([plan]);
    };
    for (const plan of plans) if (isReactor(plan.entry.processor)) await write(plan);
    const projections = plans.map((plan) => plan.entry).filter((entry) => !isReactor(entry.processor));
    for (const message of batch) {
      for (const entry of projections) {
        if (entry.state === "failed") continue;
        const plan = planEntry(entry, [message], decode);
        try {
          await write(plan);
        } catch (error) {
          if (error instanceof DocumentStoreUnavailableError || error instanceof ResubscribeSignal)
            throw error;
          if (message.kind !== "event") throw error;
          const record = message.event;
          await write(
            failedPlan(entry, entry.position, {
              position: record.position,
              error: `${record.type} at ${record.position.commit}: ${String(error)}`,
            }),
          );
        }
      }
    }
  }
}

/** The checkpoint, null when there is none, undefined when the store cannot be read now. */
async function readCheckpointSafely(store: DocumentStore, processor: string, generation: number) {
  try {
    return await readCheckpoint(store, processor, generation);
  } catch {
    return undefined;
  }
}

const isOutage = (error: unknown): boolean =>
  error instanceof EventStoreUnavailableError || error instanceof DocumentStoreUnavailableError;

const positionOf = (message: LogMessage): Position | null =>
  message.kind === "event" ? message.event.position : message.position;

interface Plan {
  readonly entry: Entry;
  readonly ops: WriteOp[];
  readonly applied: number;
  /** The position this processor will have reached once the ops are written. */
  readonly position: Position | null;
  readonly caughtUp: boolean;
  readonly failure?: { readonly position: Position; readonly error: string };
  /** Bookings a projection applied in this batch (ParkingReserved), for the ack → visible lag. */
  readonly visible?: readonly RecordedEvent[];
}

function failedPlan(entry: Entry, position: Position | null, failure: NonNullable<Plan["failure"]>): Plan {
  return {
    entry,
    ops: [
      checkpointOp(entry.processor.name, entry.generation, {
        position,
        state: "failed",
        error: failure.error,
        failedAt: failure.position,
      }),
    ],
    applied: 0,
    position: position !== entry.position ? position : null,
    caughtUp: false,
    failure,
  };
}

/**
 * The writes one processor makes for a batch, plus its checkpoint (or its failure record): a
 * projection's writes for the events of its types, and for any processor the furthest position
 * the batch proves examined (its last event, checkpoint or caught-up message).
 */
function planEntry(entry: Entry, batch: readonly LogMessage[], decode: Decode): Plan {
  const ops: WriteOp[] = [];
  let position = entry.position;
  let applied = 0;
  let caughtUp = false;
  let failure: Plan["failure"];
  const visible: RecordedEvent[] = [];
  const { processor } = entry;
  for (const message of batch) {
    if (message.kind === "caught-up") caughtUp = true;
    const at = positionOf(message);
    if (at === null) continue;
    if (position && !isAfter(at, position)) continue; // already applied: exactly once
    if (message.kind === "event" && processor.eventTypes.has(message.event.type as never)) {
      const record = message.event;
      if (isReactor(processor)) {
        applied++; // the reactor acted on it before this plan
      } else {
        const stored = decode(record);
        try {
          if (stored instanceof Error) throw stored;
          // With tracing off nothing is allocated for it (no name, attributes nor closure).
          ops.push(
            ...(tracingOn() && stored.metadata.traceparent
              ? traced(
                  `apply ${processor.name}`,
                  stored.metadata.traceparent,
                  { "parking.event": stored.event.type, "parking.position": stored.position.commit },
                  () => processor.apply(stored, entry.collection),
                )
              : processor.apply(stored, entry.collection)),
          );
          applied++;
          if (record.type === "ParkingReserved") visible.push(record);
        } catch (error) {
          failure = {
            position: record.position,
            error: `${record.type} at ${record.position.commit}: ${error instanceof Error ? error.message : String(error)}`,
          };
          break;
        }
      }
    }
    position = at;
  }
  const changed = position !== entry.position;
  if (failure) {
    // The effects of the events before the failing one land with the failure record.
    const failed = failedPlan(entry, position, failure);
    return { ...failed, ops: [...ops, ...failed.ops], applied };
  }
  if (changed) ops.push(checkpointOp(processor.name, entry.generation, { position, state: "running" }));
  return { entry, ops, applied, position: changed ? position : null, caughtUp, visible };
}
