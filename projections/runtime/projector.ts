import { EventEmitter } from "node:events";
import {
  type DocumentStore,
  DocumentStoreUnavailableError,
  type WriteOp,
} from "../../document-store/port.js";
import { decodeEvent, type StoredDomainEvent } from "../../event-store/codec.js";
import type { EventStore, RecordedEvent } from "../../event-store/port.js";
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
import { ResubscribeSignal, SubscriptionLoop } from "./subscription-loop.js";

export interface ProjectorOptions {
  readonly projections: readonly Projection[];
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
  readonly projection: Projection;
  generation: number;
  position: Position | null;
  state: ProjectionRunState;
  error?: string;
  readonly names: Map<string, string>;
  readonly collection: (logical: string) => string;
}

export interface ProjectionRuntimeStatus {
  readonly name: string;
  readonly generation: number;
  readonly position: Position | null;
  readonly state: ProjectionRunState;
  readonly error?: string;
}

const GENERATION_CHECK_MS = 250;

/**
 * Runs a set of projections over one subscription to the global log. Each batch's writes of
 * every projection and their checkpoints commit in one atomic write, so an event's effect lands
 * exactly once even if the process dies mid-batch. An event a projection cannot apply stops
 * that projection (the others go on) and is recorded with its position and error.
 */
export class Projector {
  private readonly entries = new Map<string, Entry>();
  private loop: SubscriptionLoop | undefined;
  private readonly events = new EventEmitter();
  private lastGenerationCheck = 0;
  private generationTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ProjectorOptions) {
    this.events.setMaxListeners(0);
  }

  async start(): Promise<void> {
    await this.load();
    const types = new Set(this.options.projections.flatMap((p) => [...p.eventTypes]));
    this.loop = new SubscriptionLoop({
      name: `projector:${this.options.projections.map((p) => p.name).join(",")}`,
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

  status(): ProjectionRuntimeStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.projection.name,
      generation: e.generation,
      position: e.position,
      state: e.state,
      ...(e.error ? { error: e.error } : {}),
    }));
  }

  /** Subscribe to progress: called after every committed batch with each projection's position. */
  onAdvance(listener: (name: string, position: Position) => void): () => void {
    this.events.on("advance", listener);
    return () => this.events.off("advance", listener);
  }

  private async load(): Promise<void> {
    const { documentStore, projections, generation } = this.options;
    const active = generation === "active" ? await activeGenerations(documentStore) : undefined;
    for (const projection of projections) {
      const gen =
        (generation === "active" ? active?.get(projection.name) : generation.get(projection.name)) ?? 1;
      await this.loadEntry(projection, gen);
    }
  }

  private async loadEntry(projection: Projection, generation: number): Promise<void> {
    const { documentStore } = this.options;
    const names = new Map(
      Object.keys(projection.collections).map((l) => [l, physicalCollection(l, generation)]),
    );
    if (!this.options.deferIndexes) await this.ensureIndexes(projection, names);
    const checkpoint = await readCheckpoint(documentStore, projection.name, generation);
    this.entries.set(projection.name, {
      projection,
      generation,
      position: checkpoint?.position ?? null,
      // A projection that failed before is retried on start: the fault may have been fixed.
      state: "running",
      names,
      collection: (logical) => {
        const name = names.get(logical);
        if (!name) throw new Error(`projection ${projection.name} does not own collection ${logical}`);
        return name;
      },
    });
    if (checkpoint?.position)
      this.options.metrics?.projectionPosition.set(
        { projection: projection.name },
        checkpoint.position.commit,
      );
  }

  /** Creates every index of every projection's collections (after a bulk load with deferIndexes). */
  async createIndexes(): Promise<void> {
    for (const entry of this.entries.values()) await this.ensureIndexes(entry.projection, entry.names);
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
    return [...this.entries.values()].some((e) => (active.get(e.projection.name) ?? 1) !== e.generation);
  }

  /** In live mode, before each (re)subscription: switches to the generations a replay activated. */
  private async switchGenerations(): Promise<void> {
    if (this.options.generation !== "active") return;
    const active = await activeGenerations(this.options.documentStore);
    for (const entry of [...this.entries.values()]) {
      const generation = active.get(entry.projection.name) ?? 1;
      if (generation !== entry.generation) {
        this.options.logger.info(
          { projection: entry.projection.name, from: entry.generation, to: generation },
          "switching to the generation a replay activated",
        );
        await this.loadEntry(entry.projection, generation);
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

  private async applyBatch(batch: readonly RecordedEvent[]): Promise<void> {
    await this.followGenerations();
    const started = process.hrtime.bigint();
    const decoded = new Map<RecordedEvent, StoredDomainEvent | Error>();
    const decode = (record: RecordedEvent) => {
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

    const plans = [...this.entries.values()]
      .filter((entry) => entry.state !== "failed")
      .map((entry) => planEntry(entry, batch, decode));
    const ops = plans.flatMap((plan) => plan.ops);
    try {
      await this.options.documentStore.write(ops);
    } catch (error) {
      if (error instanceof DocumentStoreUnavailableError) throw error;
      // A write the store refused: find out which projection and event, one at a time.
      await this.isolateFailure(batch, decode, error);
      return;
    }
    this.commit(plans);
    this.options.metrics?.projectionBatchDuration.observe(
      { projector: "read-models" },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
  }

  private commit(plans: readonly Plan[]): void {
    for (const plan of plans) {
      const { entry } = plan;
      if (plan.failure) {
        entry.state = "failed";
        entry.error = plan.failure.error;
        this.options.metrics?.projectionFailures.inc({ projection: entry.projection.name, kind: "event" });
        this.options.logger.error(
          { projection: entry.projection.name, position: plan.failure.position, error: plan.failure.error },
          "projection stopped: it cannot apply an event",
        );
      }
      if (plan.applied > 0)
        this.options.metrics?.projectionEvents.inc({ projection: entry.projection.name }, plan.applied);
      if (plan.position && (!entry.position || isAfter(plan.position, entry.position))) {
        entry.position = plan.position;
        this.options.metrics?.projectionPosition.set(
          { projection: entry.projection.name },
          plan.position.commit,
        );
        this.events.emit("advance", entry.projection.name, plan.position);
      }
    }
  }

  private async isolateFailure(
    batch: readonly RecordedEvent[],
    decode: (r: RecordedEvent) => StoredDomainEvent | Error,
    cause: unknown,
  ): Promise<void> {
    this.options.logger.warn(
      { err: cause },
      "batch write refused; applying event by event to find the fault",
    );
    for (const record of batch) {
      for (const entry of this.entries.values()) {
        if (entry.state === "failed") continue;
        const plan = planEntry(entry, [record], decode);
        try {
          await this.options.documentStore.write(plan.ops);
          this.commit([plan]);
        } catch (error) {
          if (error instanceof DocumentStoreUnavailableError) throw error;
          const failure = {
            position: record.position,
            error: `${record.type} at ${record.position.commit}: ${String(error)}`,
          };
          const failed: Plan = {
            entry,
            ops: [
              checkpointOp(entry.projection.name, entry.generation, {
                position: entry.position,
                state: "failed",
                error: failure.error,
                failedAt: record.position,
              }),
            ],
            applied: 0,
            position: null,
            failure,
          };
          await this.options.documentStore.write(failed.ops);
          this.commit([failed]);
        }
      }
    }
  }
}

interface Plan {
  readonly entry: Entry;
  readonly ops: WriteOp[];
  readonly applied: number;
  /** The position this projection will have reached once the ops are written. */
  readonly position: Position | null;
  readonly failure?: { readonly position: Position; readonly error: string };
}

/** The writes one projection makes for a batch, plus its checkpoint (or its failure record). */
function planEntry(
  entry: Entry,
  batch: readonly RecordedEvent[],
  decode: (r: RecordedEvent) => StoredDomainEvent | Error,
): Plan {
  const ops: WriteOp[] = [];
  let position = entry.position;
  let applied = 0;
  let failure: Plan["failure"];
  for (const record of batch) {
    if (position && !isAfter(record.position, position)) continue; // already applied: exactly once
    if (entry.projection.eventTypes.has(record.type as never)) {
      const stored = decode(record);
      try {
        if (stored instanceof Error) throw stored;
        ops.push(...entry.projection.apply(stored, entry.collection));
        applied++;
      } catch (error) {
        failure = {
          position: record.position,
          error: `${record.type} at ${record.position.commit}: ${error instanceof Error ? error.message : String(error)}`,
        };
        break;
      }
    }
    position = record.position;
  }
  const changed = position !== entry.position;
  if (failure) {
    ops.push(
      checkpointOp(entry.projection.name, entry.generation, {
        position,
        state: "failed",
        error: failure.error,
        failedAt: failure.position,
      }),
    );
  } else if (changed) {
    ops.push(checkpointOp(entry.projection.name, entry.generation, { position, state: "running" }));
  }
  return { entry, ops, applied, position: changed ? position : null, ...(failure ? { failure } : {}) };
}
