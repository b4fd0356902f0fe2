import type { AnyIndexSpec, DocumentStore, WriteOp } from "../../document-store/port.js";
import type { EventStore } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { Logger } from "../../platform/logger.js";
import type { Metrics } from "../../platform/metrics.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { EventType } from "../../schemas/events.js";
import type { Projection } from "../read-models/projection.js";

/** What a reactor may use to act: the event store for its effects, the document store for what it keeps. */
export interface ReactorContext {
  readonly eventStore: EventStore;
  readonly documentStore: DocumentStore;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** What time it is (ms since the epoch): the service's one clock, which tests may drive. */
  readonly now: () => number;
}

/**
 * A reactor: follows the log and acts on it outside the read models (appends events, calls out),
 * handed each batch's events of its types in log order. Events after its checkpoint come again
 * after a crash or a lease takeover, so every effect must be idempotent per event; what `react`
 * returns is written atomically with its checkpoint (an outbox).
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
   * Work the clock brings (the scheduler's due facts): `run` every `everyMs` while this process
   * works on the reactor and it has caught up; never two at once; a failed run is tried again at
   * the next tick, so its effects must be idempotent too.
   */
  readonly tick?: {
    readonly everyMs: number;
    run(context: ReactorContext): Promise<void>;
  };
  /**
   * A reactor whose state lives in memory (the control center's books): called in place of reading
   * its checkpoint whenever the runtime starts working on it; answers the position of the state it
   * keeps in `documentStore` (null: the log's start), and is handed the events after it.
   */
  resume?(documentStore: DocumentStore): Promise<Position | null>;
  /** Ends what it runs beside the log (the webhook deliveries in flight) when the runtime stops. */
  close?(): Promise<void>;
}

/** Anything the processor runtime runs: a read-model projection or a reactor. */
export type Processor = Projection | Reactor;

export const isReactor = (processor: Processor): processor is Reactor => "react" in processor;
