import type { DocumentStore } from "../../document-store/port.js";
import { DocumentStoreUnavailableError, WriteConditionFailedError } from "../../document-store/port.js";
import type { EventStore, LogMessage } from "../../event-store/port.js";
import { isAfter, type Position, reached } from "../../event-store/position.js";
import type { Logger } from "../../platform/logger.js";
import type { Metrics } from "../../platform/metrics.js";
import { type BatchContext, commit, isolateFailure, observeVisible } from "./batch-outcome.js";
import { activeGenerations, type ProjectionRunState } from "./checkpoints.js";
import type { DecodedEvents } from "./decoded-events.js";
import { batchDecoder, type Entry, ensureIndexes, loadEntry } from "./entry.js";
import { onGenerationSwitch } from "./generation-switches.js";
import { leaseRound } from "./lease-rounds.js";
import type { Leases } from "./leases.js";
import { type Plan, planEntry } from "./plan.js";
import { isReactor, type Processor, type Reactor, type ReactorContext } from "./processor.js";
import { advancedTo, Progress } from "./progress.js";
import { react } from "./reactor-runs.js";
import { ResubscribeSignal, SubscriptionLoop } from "./subscription-loop.js";

export interface ProcessorRuntimeOptions {
  readonly processors: readonly Processor[];
  readonly eventStore: EventStore;
  readonly documentStore: DocumentStore;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly batchSize: number;
  /** "active": follow each projection's active generation (live); a map: build these (a replay). */
  readonly generation: "active" | ReadonlyMap<string, number>;
  /** Leave the read-model indexes to createIndexes() (a rebuild's bulk load is faster without them). */
  readonly deferIndexes?: boolean;
  /** Work only on the processors whose lease this process holds (without: on every one). */
  readonly leases?: Leases;
  /** What time it is for reactors (ms since the epoch): the system clock unless a test drives it. */
  readonly clock?: () => number;
  /** Events decoded by the other runtimes of its group, shared with them (DecodedEvents). */
  readonly decoded?: DecodedEvents;
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

/**
 * How often a live runtime looks whether a replay in another process activated a generation (the
 * document store has no change notifications; one in this process says so on GENERATION_SWITCHES).
 */
const GENERATION_CHECK_MS = 250;

const isErasure = (message: LogMessage) =>
  message.kind === "event" && message.event.type === "CustomerErased";

/**
 * The one runtime for everything that follows the log: projections and reactors, over one
 * subscription (their event types and the store's progress messages), in batches. Per batch,
 * reactors act first (idempotently), then every projection's writes and every checkpoint commit
 * in one atomic write, so a projection's effect lands exactly once. A processor that cannot handle
 * an event stops there (the others go on); a store outage resubscribes from the checkpoints after
 * a backoff.
 */
export class ProcessorRuntime {
  private readonly entries = new Map<string, Entry>();
  private loop: SubscriptionLoop | undefined;
  private readonly progress = new Progress();
  private generationTimer: NodeJS.Timeout | undefined;
  private stopListeningForSwitches: (() => void) | undefined;
  private generationCheck: Promise<void> | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private leaseRound: Promise<void> | undefined;
  private readonly tickTimers: NodeJS.Timeout[] = [];
  private readonly ticking = new Map<string, Promise<void>>();
  private stopping = false;
  private readonly tracked = new Set<Promise<unknown>>();
  private readonly batchContext: BatchContext;

  constructor(private readonly options: ProcessorRuntimeOptions) {
    this.batchContext = {
      documentStore: options.documentStore,
      logger: options.logger,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      progress: this.progress,
      fenced: () => this.fenced(),
    };
  }

  async start(): Promise<void> {
    await this.load();
    if (this.options.leases) {
      await this.renewLeases();
      this.leaseTimer = setInterval(() => void this.renewLeases(), this.options.leases.options.renewMs);
      this.leaseTimer.unref();
    }
    this.loop = this.subscribe();
    for (const processor of this.options.processors) {
      if (!isReactor(processor) || !processor.tick) continue;
      const timer = setInterval(() => void this.tick(processor), processor.tick.everyMs);
      timer.unref();
      this.tickTimers.push(timer);
    }
    if (this.options.generation === "active") {
      // Looked at on a timer, not per batch: a batch handled as a replay activated its generation
      // went to the old one, and with no later batch the new one would never get it.
      this.generationTimer = setInterval(() => void this.generationsActivated(), GENERATION_CHECK_MS);
      this.generationTimer.unref();
      // A rebuild in this process (any thread) says so at once.
      this.stopListeningForSwitches = onGenerationSwitch(() => void this.generationsActivated());
    }
  }

  private subscribe(): SubscriptionLoop {
    const types = new Set(this.options.processors.flatMap((p) => [...p.eventTypes]));
    return new SubscriptionLoop({
      name: `processors:${this.options.processors.map((p) => p.name).join(",")}`,
      eventStore: this.options.eventStore,
      filter: { eventTypes: [...types] },
      logger: this.options.logger,
      batchSize: this.options.batchSize,
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
  }

  /** Ties work to this runtime (the lifecycle's rebuild): stop() waits for it; its failure is its own. */
  track(work: Promise<unknown>): void {
    const settled = work.catch(() => undefined).finally(() => this.tracked.delete(settled));
    this.tracked.add(settled);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.tracked);
    for (const timer of this.tickTimers.splice(0)) clearInterval(timer);
    await Promise.all(this.ticking.values());
    for (const processor of this.options.processors) if (isReactor(processor)) await processor.close?.();
    clearInterval(this.generationTimer);
    this.stopListeningForSwitches?.();
    clearInterval(this.leaseTimer);
    await this.loop?.stop();
    await this.leaseRound;
    await this.generationCheck;
    // The batch in flight is stored: hand the leases over at once instead of letting them expire.
    const { leases } = this.options;
    if (!leases) return;
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

  /** A replay activated generations: switch to them now (never two looks at once). */
  private generationsActivated(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    this.generationCheck ??= this.switchedGenerations()
      .then((switched) => {
        if (switched.length > 0) this.loop?.resubscribe("generation changed");
      })
      .catch(() => undefined) // the store is down: the subscription loop will notice
      .finally(() => {
        this.generationCheck = undefined;
      });
    return this.generationCheck;
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
   * One run of a reactor's clock-driven work, if this process works on it and it has caught up;
   * never two at once. What it appends goes through expected revisions, so a run that overlaps a
   * takeover cannot record a fact twice.
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
    const { leases } = this.options;
    if (!leases) return Promise.resolve();
    this.leaseRound ??= (async () => {
      if (this.stopping) return;
      const stopping = () => this.stopping;
      if (await leaseRound(this.entries.values(), { ...this.options, leases }, stopping))
        this.loop?.resubscribe("leases changed");
    })().finally(() => {
      this.leaseRound = undefined;
    });
    return this.leaseRound;
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
    return this.progress.onAdvance(listener);
  }

  /** Resolves once `name` has committed `position` (read-your-writes); rejects when `signal` aborts. */
  whenReached(name: string, position: Position, signal?: AbortSignal): Promise<void> {
    if (reached(this.entries.get(name)?.position ?? null, position)) return Promise.resolve();
    return advancedTo(this.progress, name, position, signal);
  }

  private async load(): Promise<void> {
    const { documentStore, processors, generation } = this.options;
    const generations = generation === "active" ? await activeGenerations(documentStore) : generation;
    for (const processor of processors)
      await this.loadEntry(processor, isReactor(processor) ? 1 : (generations.get(processor.name) ?? 1));
  }

  private async loadEntry(processor: Processor, generation: number): Promise<void> {
    const { documentStore, deferIndexes } = this.options;
    const epoch = this.entries.get(processor.name)?.epoch ?? null;
    const entry = await loadEntry(processor, generation, documentStore, epoch, deferIndexes);
    this.entries.set(processor.name, entry);
    if (entry.position)
      this.options.metrics?.projectionPosition.set({ projection: processor.name }, entry.position.commit);
  }

  /** Creates every index of every processor's collections (after a bulk load with deferIndexes). */
  async createIndexes(): Promise<void> {
    for (const entry of this.entries.values())
      await ensureIndexes(this.options.documentStore, entry.processor, entry.names);
  }

  /** In live mode: the projections whose active generation (a replay activated it) is not the one maintained. */
  private async switchedGenerations(): Promise<(readonly [Entry, number])[]> {
    if (this.options.generation !== "active") return [];
    const active = await activeGenerations(this.options.documentStore);
    return [...this.entries.values()]
      .filter((e) => !isReactor(e.processor))
      .map((e) => [e, active.get(e.processor.name) ?? 1] as const)
      .filter(([e, generation]) => generation !== e.generation);
  }

  /** In live mode, before each (re)subscription: switches to the generations a replay activated. */
  private async switchGenerations(): Promise<void> {
    for (const [entry, generation] of await this.switchedGenerations()) {
      this.options.logger.info(
        { projection: entry.processor.name, from: entry.generation, to: generation },
        "switching to the generation a replay activated",
      );
      await this.loadEntry(entry.processor, generation);
    }
  }

  private async applyBatch(batch: readonly LogMessage[]): Promise<void> {
    const started = process.hrtime.bigint();
    // An erasure: nothing the group decoded before it is handed out again (DecodedEvents).
    if (batch.some(isErasure)) this.options.decoded?.forget();
    const decode = batchDecoder(this.options.decoded);
    const working = this.working();
    // The fencing conditions as of now: if a lease is lost from here on, the write is refused.
    const { leases } = this.options;
    const fences = new Map(
      working.map((e) => [e, leases && e.epoch !== null ? [leases.fence(e.processor.name, e.epoch)] : []]),
    );
    // Reactors act first: their effects are idempotent, their checkpoints commit with the batch.
    const plans: Plan[] = [];
    for (const entry of working)
      if (isReactor(entry.processor))
        plans.push(await react(entry, entry.processor, batch, decode, this.contextOf(entry.processor)));
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
      await isolateFailure(this.batchContext, batch, plans, fences, decode, error);
      return;
    }
    commit(this.batchContext, plans);
    if (batch.some(isErasure)) await this.compactAfterErasure();
    observeVisible(this.options.metrics, plans, decode);
    this.options.metrics?.projectionBatchDuration.observe(
      { projector: "processors" },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
  }

  /** After an erasure's batch the store drops the old page images it still holds (a failure waits for the next). */
  private async compactAfterErasure(): Promise<void> {
    try {
      await this.options.documentStore.compact?.();
    } catch (error) {
      this.options.logger.warn({ err: error }, "the document store could not compact after an erasure");
    }
  }

  /** A batch was refused by a fence: a lease was lost meanwhile. Find out which, then start over. */
  private async fenced(): Promise<never> {
    this.options.logger.warn("batch refused: a lease was lost while it was being processed");
    await this.renewLeases();
    throw new ResubscribeSignal("a lease was lost");
  }
}
