import { setTimeout as sleep } from "node:timers/promises";
import { WrongExpectedRevisionError } from "../event-store/errors.js";
import type { EventStore, EventToAppend } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import { batchSpans } from "../platform/tracing.js";
import type { Actor } from "../schemas/actor.js";
import type { Causation } from "../schemas/event-codec.js";
import { type StateAtRevision, StateCache } from "./state-cache.js";

/** An aggregate as a decider (pure): what a command decides on a state, and what an event makes of it. */
export interface Decider<C, E, S, R> {
  decide(
    command: C,
    state: S,
  ): { readonly ok: true; readonly events: readonly E[] } | { readonly ok: false; readonly rejection: R };
  evolve(state: S, event: E): S;
  readonly initialState: S;
}

export interface CommandContext {
  /** Carried into every event's metadata, and on to the events those cause. */
  readonly correlationId: string;
  /** Identifies this command; becomes the events' causationId. */
  readonly commandId: string;
  /** Who sent the command; recorded in every event's metadata. */
  readonly actor: Actor;
  /** The W3C trace context of the request: carried into the events' metadata. */
  readonly traceparent?: string;
}

/** What the events a command appends record of it: its correlation, itself as their cause, its actor and trace. */
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
      /** The state as of after the command. */
      readonly state: S;
      /** Global position of the stream's last event (the appended ones, if any); null if none. */
      readonly position: Position | null;
    }
  | { readonly ok: false; readonly rejection: R };

/** Where the runner gets an aggregate's state from when it is not in its cache. */
export interface StateSource<S> {
  /** The state of the aggregate `key` as of its stream's last event (revision -1: no stream). */
  load(key: string): Promise<StateAtRevision<S>>;
  /** Folds the stream's events after `from.revision` into `from.state`. */
  catchUp(streamId: string, from: StateAtRevision<S>): Promise<StateAtRevision<S>>;
  /**
   * After an append: the state to go on from (the lot's books closed, its next period opened), or
   * undefined to drop the cached state. The batch is answered first, whatever it does.
   */
  afterAppend?(key: string, at: StateAtRevision<S>): Promise<StateAtRevision<S> | undefined>;
  /** Whether `afterAppend` has work after this append; when not, the state is cached at once. */
  followsAppend?(key: string, at: StateAtRevision<S>): boolean;
}

export interface DeciderRunnerHooks {
  /** Called for each optimistic-concurrency conflict, once per command it sends back to decide (metrics). */
  readonly onConflict?: (commandType: string) => void;
  /** Called with the number of commands decided together in each append attempt (metrics, tests). */
  readonly onBatch?: (size: number) => void;
}

export interface DeciderRunnerOptions<C extends { readonly type: string }, E, S, R> {
  readonly decider: Decider<C, E, S, R>;
  /** The key whose stream a command is decided on (its consistency boundary: one lane per key). */
  readonly keyOf: (command: C) => string;
  readonly streamOf: (key: string) => string;
  readonly source: StateSource<S>;
  /** An event as appended, with the command's causation in its metadata (may throw: that command alone fails). */
  readonly encode: (event: E, context: CommandContext) => EventToAppend;
  readonly retryLimit: number;
  readonly cacheSize: number;
  /** At least 1 (DEFAULT_MAX_BATCH when absent). */
  readonly maxBatch?: number;
  readonly hooks?: DeciderRunnerHooks;
  /** Prefix of the span attributes (`<prefix>.<key name>`, `<prefix>.stream`, ...). */
  readonly trace: { readonly prefix: string; readonly keyName: string };
}

/** The most commands of one key decided together and appended in one append. */
export const DEFAULT_MAX_BATCH = 256;

/** Whether the store said its stream ends before `revision` (it holds less than the state folded). */
const behind = (conflict: WrongExpectedRevisionError, revision: number): boolean =>
  conflict.actual === "no_stream"
    ? revision >= 0
    : conflict.actual !== undefined && conflict.actual < revision;

/** Optimistic-concurrency conflicts kept happening past the retry limit. */
export class ConcurrencyConflictError extends Error {
  override name = "ConcurrencyConflictError";
  constructor(
    readonly streamId: string,
    readonly attempts: number,
  ) {
    super(`gave up on ${streamId} after ${attempts} conflicting attempts`);
  }
}

interface Waiting<C, O> {
  readonly command: C;
  readonly context: CommandContext;
  readonly resolve: (outcome: O) => void;
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

/** A batch's answers, and what follows its append, run after they are given (see drain). */
interface Handled<O> {
  readonly outcomes: (O | Failure)[];
  readonly followUp?: () => Promise<void>;
}

/** A command of a batch whose events could not be encoded: it alone fails, the others go on. */
class Failure {
  constructor(readonly error: unknown) {}
}

/**
 * Runs a decider on an event store: load the state (cache, else the source), decide, append with
 * the stream's expected revision; on a conflict, catch up and decide again (bounded). Commands on
 * one key queue in-process, and whatever has queued while the key's previous append was in flight
 * is decided together, in arrival order, each on the state the ones before it leave, and appended
 * in ONE append (one expected revision): a hot key pays one transaction per batch, not per
 * command. A refused command appends nothing and does not change the state the next one sees.
 * Across processes the expected revision is what serializes appends; on a conflict the whole batch
 * is decided again. Every command is answered only after the append holding its events is durable.
 */
export class DeciderRunner<C extends { readonly type: string }, E, S, R> {
  private readonly cache: StateCache<S>;
  /** Counts the forgets: a batch running across one does not cache what it folded before it. */
  private generation = 0;
  private readonly queues = new Map<string, Waiting<C, RunOutcome<E, S, R>>[]>();

  constructor(
    private readonly eventStore: EventStore,
    private readonly options: DeciderRunnerOptions<C, E, S, R>,
  ) {
    this.cache = new StateCache(options.cacheSize);
  }

  handle(command: C, context: CommandContext): Promise<RunOutcome<E, S, R>> {
    return new Promise((resolve, reject) => {
      const key = this.options.keyOf(command);
      const queue = this.queues.get(key);
      const waiting = { command, context, resolve, reject };
      if (queue) {
        queue.push(waiting);
        return;
      }
      this.queues.set(key, [waiting]);
      void this.drain(key);
    });
  }

  /** Runs the key's batches one after another until its queue is empty. */
  private async drain(key: string): Promise<void> {
    const queue = this.queues.get(key);
    if (!queue) return;
    // Let the commands that arrive in the same event-loop turn join the first batch.
    await Promise.resolve();
    while (queue.length > 0) {
      const batch = queue.splice(0, this.options.maxBatch ?? DEFAULT_MAX_BATCH);
      let followUp: (() => Promise<void>) | undefined;
      try {
        const handled = await this.handleBatch(key, batch);
        followUp = handled.followUp;
        handled.outcomes.forEach((outcome, i) => {
          const waiting = batch[i] as (typeof batch)[number];
          if (outcome instanceof Failure) waiting.reject(outcome.error);
          else waiting.resolve(outcome);
        });
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
    this.queues.delete(key);
    for (const resolve of this.waitingIdle.get(key) ?? []) resolve();
    this.waitingIdle.delete(key);
  }

  /** Keys whose lane is running, with who waits for it to be idle (`settled`). */
  private readonly waitingIdle = new Map<string, (() => void)[]>();

  /**
   * Resolves once the key's lane is idle: every command handed in so far answered and what follows
   * their appends (a lot's close and opening) done. For tests and an orderly stop.
   */
  settled(key: string): Promise<void> {
    if (!this.queues.has(key)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiting = this.waitingIdle.get(key) ?? [];
      waiting.push(resolve);
      this.waitingIdle.set(key, waiting);
    });
  }

  /**
   * What the command would decide now, on its stream's current state, appending nothing: for a
   * caller that must do something elsewhere first only if it would be accepted (set a coupon aside
   * for a booking). Run afterwards, it is decided again: others may append meanwhile.
   */
  async preview(command: C): Promise<ReturnType<Decider<C, E, S, R>["decide"]>> {
    return this.options.decider.decide(command, await this.stateNow(this.options.keyOf(command)));
  }

  /** The key's current state (caught up with its stream), changing nothing: for a pure look before a command. */
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

  /** The stream the state is of: its own (the source's), else the key's. */
  private streamAt(key: string, at: StateAtRevision<S>): string {
    return at.stream ?? this.options.streamOf(key);
  }

  /** The cached state, else the source's (fresh: read from the stream just now). */
  private async current(key: string): Promise<{ at: StateAtRevision<S>; fresh: boolean }> {
    const cached = this.cache.get(key);
    if (cached) return { at: cached, fresh: false };
    const loaded = await this.options.source.load(key);
    return { at: loaded, fresh: true };
  }

  private async handleBatch(
    key: string,
    batch: readonly Waiting<C, RunOutcome<E, S, R>>[],
  ): Promise<Handled<RunOutcome<E, S, R>>> {
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
        if (generation === this.generation) this.cache.set(key, at);
        const position = at.position;
        return { outcomes: verdicts.map((v) => answer(v, position, [])) };
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

      const before = at;
      const after: StateAtRevision<S> = {
        state,
        revision: result.nextExpectedRevision,
        position: result.position,
        ...(before.stream !== undefined ? { stream: before.stream } : {}),
      };
      const positions = await this.positionsOf(
        streamId,
        before.revision + 1,
        toAppend.length,
        result.position,
      );
      const outcomes = verdicts.map((v) => answer(v, before.position, positions));
      if (source.afterAppend && source.followsAppend?.(key, after) !== false)
        return { outcomes, followUp: () => this.keep(key, after, generation) };
      // Most appends have nothing after them: cached at once, the lane's next batch not deferred.
      if (generation === this.generation) this.cache.set(key, after);
      else this.cache.delete(key);
      return { outcomes };
    }
  }

  /** Caches the state after an append as the source goes on from it (its afterAppend's), or drops it. */
  private async keep(key: string, after: StateAtRevision<S>, generation: number): Promise<void> {
    let next: StateAtRevision<S> | undefined;
    try {
      next = await this.options.source.afterAppend?.(key, after);
    } catch {
      next = undefined; // the next command loads the key again, which repairs what was left
    }
    if (!next || generation !== this.generation) this.cache.delete(key);
    else this.cache.set(key, next);
  }

  /** Decides each command on the state the ones before it leave (the last, returned); only accepted events evolve it. */
  private decideAll(
    batch: readonly Waiting<C, RunOutcome<E, S, R>>[],
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

  /**
   * Global positions of the events just appended (revisions `from`..`from+count-1`): the append
   * reports only the last one, so a batch of several reads them back (they are in the stream for
   * good, and an index lookup away); a single event needs no read.
   */
  private async positionsOf(
    streamId: string,
    from: number,
    count: number,
    last: Position,
  ): Promise<Position[]> {
    if (count === 1) return [last];
    const positions: Position[] = [];
    for await (const recorded of this.eventStore.readStream(streamId, {
      fromRevision: from,
      maxCount: count,
    })) {
      positions.push(recorded.position);
    }
    if (positions.length !== count)
      throw new Error(`read back ${positions.length} of ${count} events of ${streamId}`);
    return positions;
  }
}

const isRefusalOrNoOp = <E, S, R>(v: Verdict<E, S, R>): boolean =>
  v.kind === "refused" || (v.kind === "accepted" && v.events.length === 0);

/**
 * A command's answer: its own events' last position, or for a no-op the position of the stream's
 * last event as it stood for that command (the batch's events before it, else the stream's).
 */
function answer<E, S, R>(
  v: Verdict<E, S, R>,
  before: Position | null,
  positions: readonly Position[],
): RunOutcome<E, S, R> | Failure {
  switch (v.kind) {
    case "refused":
      return { ok: false, rejection: v.rejection };
    case "failed":
      return new Failure(v.error);
    case "accepted":
      return {
        ok: true,
        events: v.events,
        state: v.state,
        position: v.lastEvent < 0 ? before : (positions[v.lastEvent] ?? before),
      };
  }
}
