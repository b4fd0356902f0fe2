import { EventEmitter } from "node:events";
import {
  type DocumentStore,
  DocumentStoreUnavailableError,
  type WriteOp,
} from "../../document-store/port.js";
import { decodeEvent, type StoredDomainEvent } from "../../event-store/codec.js";
import { EventStoreUnavailableError } from "../../event-store/errors.js";
import type { EventStore, LogMessage, RecordedEvent } from "../../event-store/port.js";
import { isAfter, type Position } from "../../event-store/position.js";
import type { Logger } from "../../platform/logger.js";
import type { Metrics } from "../../platform/metrics.js";
import type { Projection } from "../read-models/projection.js";
import {
  activeGenerations,
  checkpointOp,
  type ProjectionRunState,
  physicalCollection,
  readCheckpoint,
} from "./checkpoints.js";
import { isReactor, type Processor, type Reactor } from "./processor.js";
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
}

interface Entry {
  readonly processor: Processor;
  generation: number;
  position: Position | null;
  state: ProjectionRunState;
  /** Set once the subscription has reported "caught up" and everything before it is stored. */
  caughtUp: boolean;
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
  readonly error?: string;
}

const GENERATION_CHECK_MS = 250;

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

  constructor(private readonly options: ProcessorRuntimeOptions) {
    this.events.setMaxListeners(0);
  }

  async start(): Promise<void> {
    await this.load();
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
        const running = [...this.entries.values()].filter((e) => e.state !== "failed");
        if (running.length === 0 || running.some((e) => e.position === null)) return "start";
        return running.map((e) => e.position as Position).reduce((a, b) => (isAfter(a, b) ? b : a));
      },
      handleBatch: (batch) => this.applyBatch(batch),
      onDrop: () => {
        for (const name of this.entries.keys())
          this.options.metrics?.projectionFailures.inc({ projection: name, kind: "dropped" });
      },
    });
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
    clearInterval(this.generationTimer);
    this.generationTimer = undefined;
    await this.loop?.stop();
    this.loop = undefined;
  }

  status(): ProcessorStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.processor.name,
      kind: isReactor(e.processor) ? "reactor" : "projection",
      generation: e.generation,
      position: e.position,
      state: e.state,
      caughtUp: e.caughtUp,
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
    if (!isReactor(processor) && !this.options.deferIndexes) await this.ensureIndexes(processor, names);
    const checkpoint = await readCheckpoint(documentStore, processor.name, generation);
    this.entries.set(processor.name, {
      processor,
      generation,
      position: checkpoint?.position ?? null,
      // A processor that failed before is retried on start: the fault may have been fixed.
      state: "running",
      caughtUp: false,
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

    const working = [...this.entries.values()].filter((entry) => entry.state !== "failed");
    // Reactors act first: their effects are idempotent, their checkpoints commit with the batch.
    const plans: Plan[] = [];
    for (const entry of working)
      if (isReactor(entry.processor)) plans.push(await this.react(entry, entry.processor, batch, decode));
    for (const entry of working) if (!isReactor(entry.processor)) plans.push(planEntry(entry, batch, decode));
    try {
      await this.options.documentStore.write(plans.flatMap((plan) => plan.ops));
    } catch (error) {
      if (error instanceof DocumentStoreUnavailableError) throw error;
      // A write the store refused: find out which projection and event, one at a time.
      await this.isolateFailure(batch, plans, decode, error);
      return;
    }
    this.commit(plans);
    this.options.metrics?.projectionBatchDuration.observe(
      { projector: "processors" },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
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
    const context = {
      eventStore: this.options.eventStore,
      logger: this.options.logger.child({ reactor: reactor.name }),
      ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
    };
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
    decode: Decode,
    cause: unknown,
  ): Promise<void> {
    this.options.logger.warn(
      { err: cause },
      "batch write refused; applying event by event to find the fault",
    );
    // Reactors have acted already: store their checkpoints on their own.
    for (const plan of plans) {
      if (!isReactor(plan.entry.processor)) continue;
      await this.options.documentStore.write(plan.ops);
      this.commit([plan]);
    }
    for (const message of batch) {
      for (const entry of this.entries.values()) {
        if (entry.state === "failed" || isReactor(entry.processor)) continue;
        const plan = planEntry(entry, [message], decode);
        try {
          await this.options.documentStore.write(plan.ops);
          this.commit([plan]);
        } catch (error) {
          if (error instanceof DocumentStoreUnavailableError) throw error;
          if (message.kind !== "event") throw error;
          const record = message.event;
          const failed = failedPlan(entry, entry.position, {
            position: record.position,
            error: `${record.type} at ${record.position.commit}: ${String(error)}`,
          });
          await this.options.documentStore.write(failed.ops);
          this.commit([failed]);
        }
      }
    }
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
          ops.push(...processor.apply(stored, entry.collection));
          applied++;
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
  return { entry, ops, applied, position: changed ? position : null, caughtUp };
}
