import type { AnyIndexSpec, DocumentStore, WriteOp } from "../../document-store/port.js";
import type { EventStore } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { Logger } from "../../platform/logger.js";
import type { Metrics } from "../../platform/metrics.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { EventType } from "../../schemas/events.js";
import type { Projection } from "../read-models/projection.js";

/**
 * What a reactor may use to act: the event store for its effects, the document store for what it
 * keeps beside the read models (the lot snapshotter's snapshots), logs and metrics.
 */
export interface ReactorContext {
  readonly eventStore: EventStore;
  readonly documentStore: DocumentStore;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** What time it is (ms since the epoch): the service's one clock, which tests may drive. */
  readonly now: () => number;
}

/**
 * A reactor: follows the log and acts on it outside the read models (appends events, calls out).
 * The runtime hands it each batch's events of its types in log order and moves its checkpoint
 * past the batch once `react` resolves. After a crash or a lease takeover the events after the
 * checkpoint come again, so every effect must be idempotent per event (e.g. through an expected
 * stream revision). What it returns is written in the same atomic write as its checkpoint (an
 * outbox: what it must not lose once it has moved past the events).
 */
export interface Reactor {
  /** Stable name: the checkpoint and lease key, and what the control center calls it. */
  readonly name: string;
  /** The event types it reacts to; others only advance its checkpoint. */
  readonly eventTypes: ReadonlySet<EventType>;
  /** The collections it keeps (named as they are: one generation), with their indexes: the runtime makes them. */
  readonly collections?: Readonly<Record<string, readonly AnyIndexSpec[]>>;
  // biome-ignore lint/suspicious/noConfusingVoidType: most reactors return nothing (their effects are appends)
  react(events: readonly StoredDomainEvent[], context: ReactorContext): Promise<void | readonly WriteOp[]>;
  /**
   * Work the clock brings rather than an event (the scheduler's due facts): the runtime calls
   * `run` every `everyMs` while this process works on the reactor (it holds its lease, it has not
   * failed) and the reactor has caught up with the log; never two runs at once. A run that fails
   * is logged and tried again at the next tick, so its effects must be idempotent too.
   */
  readonly tick?: {
    readonly everyMs: number;
    run(context: ReactorContext): Promise<void>;
  };
  /**
   * For a reactor whose state lives in this process's memory (the control center's books): called
   * whenever the runtime starts working on it (at start, on taking its lease), in place of reading
   * its checkpoint. It starts again from the state it keeps in `documentStore`, and answers the
   * position that state holds (null: the log's start): the runtime hands it the events after it.
   */
  resume?(documentStore: DocumentStore): Promise<Position | null>;
  /** Ends what it runs beside the log (the webhook deliveries in flight) when the runtime stops. */
  close?(): Promise<void>;
}

/** Anything the processor runtime runs: a read-model projection or a reactor. */
export type Processor = Projection | Reactor;

export const isReactor = (processor: Processor): processor is Reactor => "react" in processor;
