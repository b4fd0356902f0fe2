import { setTimeout as sleep } from "node:timers/promises";
import { WrongExpectedRevisionError } from "../event-store/errors.js";
import type { EventStore, EventToAppend } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import { batchSpans } from "../platform/tracing.js";
import type { Actor } from "../schemas/actor.js";
import type { Causation } from "../schemas/event-codec.js";

/** An aggregate as a decider (pure): what a command decides on a state, and what an event makes of it. */
export interface Decider<C, E, S, R> {
  decide(
    command: C,
    state: S,
  ): { readonly ok: true; readonly events: readonly E[] } | { readonly ok: false; readonly rejection: R };
  evolve(state: S, event: E): S;
}

/** What the events a command appends record of it in their metadata (causationOf). */
export interface CommandContext {
  readonly correlationId: string;
  /** Becomes the events' causationId. */
  readonly commandId: string;
  readonly actor: Actor;
  /** The request's W3C trace context. */
  readonly traceparent?: string;
}

export const causationOf = (context: CommandContext): Causation => ({
  correlationId: context.correlationId,
  causationId: context.commandId,
  actor: context.actor,
  ...(context.traceparent ? { traceparent: context.traceparent } : {}),
});

export type RunOutcome<E, S, R> =
  | {
      readonly ok: true;
      /** What this command appended; empty for an idempotent repeat that changed nothing. */
      readonly events: readonly E[];
      readonly state: S;
      /** Global position of the stream's last event as of after the command; null if none. */
      readonly position: Position | null;
    }
  | { readonly ok: false; readonly rejection: R };

/** An aggregate's folded state as of a stream revision (-1: the stream does not exist yet). */
export interface StateAtRevision<S> {
  readonly state: S;
  readonly revision: number;
  /** Global position of the stream's last event, null for an empty stream. */
  readonly position: Position | null;
  /** The stream `revision` is of, when it changes over the aggregate's life (a lot's period); absent: `streamOf(key)`. */
  readonly stream?: string;
}

/** Where the runner gets an aggregate's state from when it is not in its cache. */
export interface StateSource<S> {
  /** The state of the aggregate `key` as of its stream's last event (revision -1: no stream). */
  load(key: string): Promise<StateAtRevision<S>>;
  /** Folds the stream's events after `from.revision` into `from.state`. */
  catchUp(streamId: string, from: StateAtRevision<S>): Promise<StateAtRevision<S>>;
  /**
   * What follows an append (the lot's books closed, its next period opened), if anything: run once
   * the batch is answered, it gives the state to go on from, or undefined to drop the cached one.
   */
  afterAppend?(
    key: string,
    at: StateAtRevision<S>,
  ): (() => Promise<StateAtRevision<S> | undefined>) | undefined;
}

export interface DeciderRunnerOptions<C extends { readonly type: string }, E, S, R> {
  readonly decider: Decider<C, E, S, R>;
  /** The command's consistency boundary: one lane per key. */
  readonly keyOf: (command: C) => string;
  readonly streamOf: (key: string) => string;
  readonly source: StateSource<S>;
  /** An event as appended, with the command's causation in its metadata (may throw: that command alone fails). */
  readonly encode: (event: E, context: CommandContext) => EventToAppend;
  readonly retryLimit: number;
  readonly cacheSize: number;
  /** At least 1 (DEFAULT_MAX_BATCH when absent). */
  readonly maxBatch?: number;
  /** Metrics and tests: a conflict, once per command it sends back to decide; each attempt's batch size. */
  readonly hooks?: {
    readonly onConflict?: (commandType: string) => void;
    readonly onBatch?: (size: number) => void;
  };
  /** Span attributes: `<prefix>.<keyName>`, `<prefix>.stream`, ... */
  readonly trace: { readonly prefix: string; readonly keyName: string };
}

/** The most commands of one key decided together and appended in one append. */
export const DEFAULT_MAX_BATCH = 256;

/** Whether the store said its stream ends before `revision`. */
const behind = (conflict: WrongExpectedRevisionError, revision: number): boolean =>
  conflict.actual === "no_stream"
    ? revision >= 0
    : conflict.actual !== undefined && conflict.actual < revision;

export class ConcurrencyConflictError extends Error {
  override name = "ConcurrencyConflictError";
  constructor(
    readonly streamId: string,
    readonly attempts: number,
  ) {
    super(`gave up on ${streamId} after ${attempts} conflicting attempts`);
  }
}

interface Waiting<C, E, S, R> {
  readonly command: C;
  readonly context: CommandContext;
  readonly resolve: (outcome: RunOutcome<E, S, R>) => void;
  readonly reject: (error: unknown) => void;
}

/** One command's verdict within a batch, before the batch's append. */
type Verdict<E, S, R> =
  | { readonly kind: "refused"; readonly rejection: R }
  | { readonly kind: "failed"; readonly error: unknown }
  | {
      readonly kind: "accepted";
      readonly events: readonly E[];
      readonly state: S;
      /** Index in the batch's append of the last event up to this command (its own, for one that appended); -1: none yet. */
      readonly lastEvent: number;
    };

/**
 * Runs a decider on an event store: state (cache, else source), decide, append at the stream's
 * expected revision; on a conflict, catch up and decide again (bounded). Commands on one key queue
 * in-process; those queued while the previous append was in flight are decided together in arrival
 * order and appended in ONE append, so a hot key pays one transaction per batch. A refused command
 * appends nothing and leaves the state as it was for the next. Each is answered once durable.
 */
export class DeciderRunner<C extends { readonly type: string }, E, S, R> {
  /** Least-recently-used states (Map order): a command reads only events newer than the cached revision. */
  private readonly cache = new Map<string, StateAtRevision<S>>();
  /** Counts the forgets: a batch running across one does not cache what it folded before it. */
  private generation = 0;
  /** The keys whose lane is running: their queued commands, and when the lane is idle again. */
  private readonly lanes = new Map<string, { queue: Waiting<C, E, S, R>[]; idle: Promise<void> }>();

  constructor(
    private readonly eventStore: EventStore,
    private readonly options: DeciderRunnerOptions<C, E, S, R>,
  ) {}

  handle(command: C, context: CommandContext): Promise<RunOutcome<E, S, R>> {
    return new Promise((resolve, reject) => {
      const key = this.options.keyOf(command);
      const waiting = { command, context, resolve, reject };
      const lane = this.lanes.get(key);
      if (lane) lane.queue.push(waiting);
      else {
        const queue = [waiting];
        this.lanes.set(key, { queue, idle: this.drain(key, queue) });
      }
    });
  }

  /** Runs the key's batches one after another until its queue is empty. */
  private async drain(key: string, queue: Waiting<C, E, S, R>[]): Promise<void> {
    // Let the commands that arrive in the same event-loop turn join the first batch.
    await Promise.resolve();
    while (queue.length > 0) {
      const batch = queue.splice(0, this.options.maxBatch ?? DEFAULT_MAX_BATCH);
      let followUp: (() => Promise<void>) | undefined;
      try {
        followUp = await this.handleBatch(key, batch);
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
      }
      // What follows an append (a lot's close and opening) runs once its commands are answered, and
      // before the key's next batch. A macrotask first: the HTTP replies go out before that work starts.
      if (followUp) {
        await new Promise((resolve) => setImmediate(resolve));
        await followUp();
      }
    }
    this.lanes.delete(key);
  }

  /** Resolves once the key's lane is idle, what follows its appends (a lot's close) done too. */
  settled(key: string): Promise<void> {
    return this.lanes.get(key)?.idle ?? Promise.resolve();
  }

  /**
   * What the command would decide now, appending nothing: for a caller that acts elsewhere first only
   * if it would be accepted (a coupon set aside). Run afterwards, it is decided again.
   */
  async preview(command: C): Promise<ReturnType<Decider<C, E, S, R>["decide"]>> {
    return this.options.decider.decide(command, await this.stateNow(this.options.keyOf(command)));
  }

  /** The key's current state, caught up with its stream. */
  async stateNow(key: string): Promise<S> {
    const { at, fresh } = await this.current(key);
    return (fresh ? at : await this.options.source.catchUp(this.streamAt(key, at), at)).state;
  }

  /** Drops these keys' cached states (every key when none are named): the next command loads them. */
  forget(keys?: readonly string[]): void {
    this.generation++;
    if (!keys) this.cache.clear();
    else for (const key of keys) this.cache.delete(key);
  }

  private streamAt(key: string, at: StateAtRevision<S>): string {
    return at.stream ?? this.options.streamOf(key);
  }

  /** The cached state, else the source's (fresh). */
  private async current(key: string): Promise<{ at: StateAtRevision<S>; fresh: boolean }> {
    const cached = this.cache.get(key);
    if (!cached) return { at: await this.options.source.load(key), fresh: true };
    this.remember(key, cached); // the most recently used now
    return { at: cached, fresh: false };
  }

  private remember(key: string, at: StateAtRevision<S>): void {
    this.cache.delete(key);
    this.cache.set(key, at);
    const [oldest] = this.cache.keys();
    if (this.cache.size > this.options.cacheSize && oldest !== undefined) this.cache.delete(oldest);
  }

  private async handleBatch(
    key: string,
    batch: readonly Waiting<C, E, S, R>[],
  ): Promise<(() => Promise<void>) | undefined> {
    const { source, hooks } = this.options;
    const { prefix, keyName } = this.options.trace;
    // A forget (an erasure) while this batch runs: what it folded is not cached again.
    const generation = this.generation;
    let { at, fresh } = await this.current(key);

    for (let attempt = 0; ; attempt++) {
      hooks?.onBatch?.(batch.length);
      let streamId = this.streamAt(key, at);
      const traceparents = batch.map((waiting) => waiting.context.traceparent);
      const deciding = batchSpans("decide", traceparents, {
        [`${prefix}.${keyName}`]: key,
        [`${prefix}.attempt`]: attempt,
      });
      let decided = this.decideAll(batch, at.state);
      // A refusal or a no-op decided on a cached state might be stale if another process wrote
      // to this stream: confirm against the stream before answering.
      if (!fresh && decided.verdicts.some(isRefusalOrNoOp)) {
        at = await source.catchUp(streamId, at);
        streamId = this.streamAt(key, at);
        fresh = true;
        decided = this.decideAll(batch, at.state);
      }
      const { verdicts, toAppend, state } = decided;
      deciding.end();
      if (toAppend.length === 0) {
        if (generation === this.generation) this.remember(key, at);
        answer(batch, verdicts, at.position, []);
        return;
      }

      let result: { nextExpectedRevision: number; position: Position };
      const appending = batchSpans("append", traceparents, {
        [`${prefix}.stream`]: streamId,
        [`${prefix}.events`]: toAppend.length,
      });
      try {
        result = await this.eventStore.appendToStream(streamId, toAppend, {
          expectedRevision: at.revision < 0 ? "no_stream" : at.revision,
        });
        appending.end();
      } catch (error) {
        appending.end(error);
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        for (const waiting of batch) hooks?.onConflict?.(waiting.command.type);
        if (attempt >= this.options.retryLimit) throw new ConcurrencyConflictError(streamId, attempt + 1);
        if (attempt > 1) await sleep(Math.random() * Math.min(50, 2 ** attempt));
        // Someone else appended: what they wrote is folded in to decide again. A stream shorter than
        // the state (a failover's new primary lacks what was read from the old one) is loaded anew.
        at = await (behind(error, at.revision) ? source.load(key) : source.catchUp(streamId, at));
        fresh = true;
        continue;
      }

      const after: StateAtRevision<S> = {
        state,
        revision: result.nextExpectedRevision,
        position: result.position,
        ...(at.stream !== undefined ? { stream: at.stream } : {}),
      };
      const positions = await this.positionsOf(streamId, at.revision + 1, toAppend.length, result.position);
      const work = source.afterAppend?.(key, after);
      answer(batch, verdicts, at.position, positions);
      // The state the source's work goes on from is cached; on a failure, the next command loads the
      // key again, which repairs what was left.
      if (work) return async () => this.cacheAfter(key, await work().catch(() => undefined), generation);
      // Most appends have nothing after them: cached at once, the lane's next batch not deferred.
      this.cacheAfter(key, after, generation);
      return;
    }
  }

  /** Caches the key's state after an append, or drops it: none, or a forget since the batch began. */
  private cacheAfter(key: string, at: StateAtRevision<S> | undefined, generation: number): void {
    if (at && generation === this.generation) this.remember(key, at);
    else this.cache.delete(key);
  }

  /** Decides each command on the state the ones before it leave (the last, returned); only accepted events evolve it. */
  private decideAll(
    batch: readonly Waiting<C, E, S, R>[],
    initial: S,
  ): { verdicts: Verdict<E, S, R>[]; toAppend: EventToAppend[]; state: S } {
    const { decide, evolve } = this.options.decider;
    const verdicts: Verdict<E, S, R>[] = [];
    const toAppend: EventToAppend[] = [];
    let state = initial;
    for (const { command, context } of batch) {
      const decision = decide(command, state);
      if (!decision.ok) {
        verdicts.push({ kind: "refused", rejection: decision.rejection });
        continue;
      }
      let encoded: EventToAppend[];
      try {
        encoded = decision.events.map((event) => this.options.encode(event, context));
      } catch (error) {
        verdicts.push({ kind: "failed", error });
        continue;
      }
      state = decision.events.reduce(evolve, state);
      toAppend.push(...encoded);
      verdicts.push({ kind: "accepted", events: decision.events, state, lastEvent: toAppend.length - 1 });
    }
    return { verdicts, toAppend, state };
  }

  /** Global positions of the events just appended: the append reports only the last one. */
  private async positionsOf(
    streamId: string,
    from: number,
    count: number,
    last: Position,
  ): Promise<Position[]> {
    if (count === 1) return [last];
    const positions: Position[] = [];
    const read = this.eventStore.readStream(streamId, { fromRevision: from, maxCount: count });
    for await (const recorded of read) positions.push(recorded.position);
    if (positions.length !== count)
      throw new Error(`read back ${positions.length} of ${count} events of ${streamId}`);
    return positions;
  }
}

const isRefusalOrNoOp = <E, S, R>(v: Verdict<E, S, R>): boolean =>
  v.kind === "refused" || (v.kind === "accepted" && v.events.length === 0);

/**
 * Answers the batch's commands: an accepted one with its own events' last position, or for a no-op
 * the position of the stream's last event as it stood for it (the batch's events before it, else the
 * stream's); one whose events could not be encoded fails alone.
 */
function answer<C, E, S, R>(
  batch: readonly Waiting<C, E, S, R>[],
  verdicts: readonly Verdict<E, S, R>[],
  before: Position | null,
  positions: readonly Position[],
): void {
  verdicts.forEach((v, i) => {
    const { resolve, reject } = batch[i] as Waiting<C, E, S, R>;
    if (v.kind === "failed") reject(v.error);
    else if (v.kind === "refused") resolve({ ok: false, rejection: v.rejection });
    else {
      const position = v.lastEvent < 0 ? before : (positions[v.lastEvent] ?? before);
      resolve({ ok: true, events: v.events, state: v.state, position });
    }
  });
}
