import { randomUUID } from "node:crypto";
import {
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  type JSONEventData,
  type JSONType,
  type ReadPosition,
  type ReadRevision,
  type ResolvedEvent,
  START,
} from "@eventstore/db-client";
import { Observable } from "rxjs";
import { chargeWork } from "../../platform/work-budget.js";
import { countOf, validateAppend, validateRevision } from "../arguments.js";
import {
  EventStoreClosedError,
  EventStoreError,
  SubscriptionDroppedError,
  WrongExpectedRevisionError,
} from "../errors.js";
import { compileEventFilter, eventMatcher } from "../event-filter.js";
import { eventsOf } from "../log-messages.js";
import type {
  AppendResult,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  LogMessage,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeToAllOptions,
} from "../port.js";
import { isAfter, type Position } from "../position.js";
import {
  fromEsdbActualRevision,
  fromEsdbPosition,
  isStreamNotFound,
  isSystemEvent,
  mapEsdbError,
  positionOfResolved,
  toEsdbExpectedRevision,
  toEsdbPosition,
  toEsdbReadPosition,
  toRecordedEvent,
  toSubscriptionFilter,
} from "./esdb-mapping.js";
import { ProgressGate } from "./esdb-progress.js";

/** Events per read call: reads are paged so that every call finishes and nothing needs cancelling. */
const PAGE_SIZE = 500;

interface ActiveSubscription {
  fail(error: Error): void;
}

/** EventStoreDB's default MaxAppendSize: the largest write its server takes ("Maximum Append Size"). */
export const DEFAULT_MAX_APPEND_BYTES = 1_048_576;

/**
 * The EventStoreDB adapter (server 22.6 or later: stream reads must carry $all positions).
 * Events are written as JSON with a UUID id (generated when absent). System events ($-types) never
 * leave this adapter.
 */
export class EventStoreDbEventStore implements EventStore {
  private closed = false;
  private readonly active = new Set<ActiveSubscription>();

  private constructor(
    private readonly client: EventStoreDBClient,
    /** The server's MaxAppendSize (EVENTSTORE_MAX_APPEND_SIZE): it refuses a bigger write. */
    readonly maxAppendBytes: number,
  ) {}

  /**
   * `esdb://host:2113?tls=false` and the like; connects lazily on the first call. `maxAppendBytes`
   * is the server's MaxAppendSize (1,048,576 bytes unless the server sets it otherwise).
   */
  static connect(
    connectionString: string,
    maxAppendBytes = DEFAULT_MAX_APPEND_BYTES,
  ): EventStoreDbEventStore {
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(connectionString), maxAppendBytes);
  }

  async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    this.assertOpen();
    const expected = options.expectedRevision;
    validateAppend(streamId, events, expected);
    const data = events.map(
      (event): JSONEventData => ({
        id: event.id ?? randomUUID(),
        contentType: "application/json",
        type: event.type,
        data: (event.data === undefined ? null : event.data) as JSONType,
        metadata: (event.metadata ?? {}) as JSONType,
      }),
    );
    let result: Awaited<ReturnType<EventStoreDBClient["appendToStream"]>>;
    try {
      result = await this.client.appendToStream(streamId, data, {
        expectedRevision: toEsdbExpectedRevision(expected),
      });
    } catch (error) {
      throw mapEsdbError(error, { streamId, expected });
    }
    if (!result.success) {
      // Only when the connection string sets throwOnAppendFailure=false.
      throw new WrongExpectedRevisionError(
        streamId,
        expected,
        fromEsdbActualRevision(result.nextExpectedRevision),
      );
    }
    const nextExpectedRevision = Number(result.nextExpectedRevision);
    const position =
      result.position === undefined
        ? await this.positionOfRevision(streamId, nextExpectedRevision)
        : fromEsdbPosition(result.position);
    return { nextExpectedRevision, position };
  }

  async *readStream(streamId: string, options: ReadStreamOptions = {}): AsyncGenerator<RecordedEvent> {
    this.assertOpen();
    const backwards = options.direction === "backwards";
    let remaining = countOf(options.maxCount);
    let from: ReadRevision =
      options.fromRevision === undefined
        ? backwards
          ? END
          : START
        : BigInt(validateRevision(options.fromRevision, "fromRevision"));
    while (remaining > 0) {
      this.assertOpen();
      const limit = Math.min(PAGE_SIZE, remaining);
      const page = await this.readStreamPage(streamId, from, backwards, limit);
      if (page === undefined) return; // no such stream
      chargeWork("events", page.length);
      let last: bigint | undefined;
      for (const resolved of page) {
        const event = resolved.event;
        if (event === undefined) continue;
        last = event.revision;
        const raw = positionOfResolved(resolved);
        yield toRecordedEvent(
          raw === undefined || raw === event.position ? event : { ...event, position: raw },
        );
      }
      remaining -= page.length;
      if (page.length < limit || last === undefined) return;
      if (backwards && last === 0n) return;
      from = backwards ? last - 1n : last + 1n;
    }
  }

  async *readAll(options: ReadAllOptions = {}): AsyncGenerator<RecordedEvent> {
    this.assertOpen();
    const filter = compileEventFilter(options.filter);
    let remaining = countOf(options.maxCount);
    if (filter.kind === "none") return;
    const matches = eventMatcher(filter);
    const backwards = options.direction === "backwards";
    // Our `from` is exclusive, the server's inclusive (and paging restarts at the last event seen):
    // anything not strictly beyond `boundary` in the reading direction is skipped.
    let boundary: Position | undefined = options.from;
    let from: ReadPosition =
      options.from === undefined ? (backwards ? END : START) : toEsdbPosition(options.from);
    while (remaining > 0) {
      this.assertOpen();
      const page = await this.readAllPage(from, backwards);
      let last: Position | undefined;
      chargeWork("events", page.length);
      for (const resolved of page) {
        const event = resolved.event;
        if (event === undefined) continue;
        const raw = positionOfResolved(resolved);
        if (raw === undefined)
          throw new EventStoreError(`event ${event.id} was read from $all without a position`);
        const position = fromEsdbPosition(raw);
        last = position;
        if (
          boundary !== undefined &&
          !(backwards ? isAfter(boundary, position) : isAfter(position, boundary))
        ) {
          continue;
        }
        if (isSystemEvent(event.type) || !matches(event.streamId, event.type)) continue;
        yield toRecordedEvent(event.position === raw ? event : { ...event, position: raw });
        if (--remaining <= 0) return;
      }
      if (page.length < PAGE_SIZE || last === undefined) return;
      boundary = last;
      from = toEsdbPosition(last);
    }
  }

  subscribeToAll(options: SubscribeToAllOptions): Observable<RecordedEvent> {
    return eventsOf(this.followAll(options));
  }

  /**
   * A catch-up subscription to $all with its progress. Checkpoints come from two places: events
   * this adapter drops (system events, or ones the client-side match refuses) and the server's
   * `checkpointReached` for events its filter skipped. The client calls `checkpointReached` (and
   * emits `caughtUp`) while transforming the gRPC stream, which can be before events it already
   * transformed have been emitted as "data": a progress message is therefore held back until the
   * subscription's buffer is empty, so it never overtakes an event it covers. The client never
   * resubscribes by itself: an error or end of the call fails the observable and the consumer
   * subscribes again from its checkpoint; unsubscribing always cancels the call.
   */
  followAll(options: SubscribeToAllOptions): Observable<LogMessage> {
    return new Observable<LogMessage>((subscriber) => {
      let compiled: ReturnType<typeof compileEventFilter>;
      let fromPosition: ReadPosition;
      try {
        this.assertOpen();
        compiled = compileEventFilter(options.filter);
        fromPosition = toEsdbReadPosition(options.from);
      } catch (error) {
        subscriber.error(error);
        return;
      }
      const after = typeof options.from === "object" ? options.from : undefined;
      const matches = eventMatcher(compiled);

      let finished = false;
      let release: () => void = () => undefined;
      const finish = () => {
        if (finished) return;
        finished = true;
        this.active.delete(handle);
        release();
      };
      const handle: ActiveSubscription = {
        fail: (error) => {
          if (finished) return;
          finish();
          subscriber.error(error);
        },
      };
      this.active.add(handle);

      if (compiled.kind === "none") return finish; // selects nothing: stays open, quietly

      let subscription: AllStreamSubscription | undefined;
      const gate = new ProgressGate(
        after,
        (message) => {
          if (!finished) subscriber.next(message);
        },
        () => (subscription?.readableLength ?? 0) === 0,
        (from) => this.probeTail(from, matches),
      );
      subscription = this.client.subscribeToAll({
        fromPosition,
        filter: toSubscriptionFilter(compiled, {
          checkpointInterval: 1,
          checkpointReached: (_subscription, position) => checkpointInto(gate, position),
        }),
      });
      const current = subscription;
      // Breaking out of an iteration would not cancel the gRPC call: unsubscribe explicitly.
      release = () => {
        gate.close();
        current.unsubscribe().catch(() => undefined);
      };
      forward(current, gate, handle, { after, matches, finished: () => finished });
      return finish;
    });
  }

  /**
   * The server's filter may skip the newest events without a checkpoint after them. Once caught
   * up, read the log after what was examined up to the first event the subscription selects:
   * everything before that event is safely examined (a selected one comes through the
   * subscription, after it). Best effort: on a failure, progress stays where it was.
   */
  private async probeTail(
    from: Position | undefined,
    matches: (streamId: string, type: string) => boolean,
  ): Promise<Position | undefined> {
    let last: Position | undefined;
    try {
      for await (const event of this.readAll({ ...(from ? { from } : {}), maxCount: PAGE_SIZE })) {
        if (matches(event.streamId, event.type)) break;
        last = event.position;
      }
    } catch {
      return undefined;
    }
    return last;
  }

  async headPosition(): Promise<Position | null> {
    for await (const event of this.readAll({ direction: "backwards", maxCount: 1 })) return event.position;
    return null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.active];
    this.active.clear();
    for (const subscription of open)
      subscription.fail(new EventStoreClosedError("the event store was closed"));
    await this.client.dispose();
  }

  private async readStreamPage(
    streamId: string,
    fromRevision: ReadRevision,
    backwards: boolean,
    maxCount: number,
  ): Promise<ResolvedEvent[] | undefined> {
    const page: ResolvedEvent[] = [];
    try {
      const read = this.client.readStream(streamId, {
        fromRevision,
        direction: backwards ? BACKWARDS : FORWARDS,
        maxCount,
        resolveLinkTos: false,
      });
      for await (const resolved of read) page.push(resolved);
    } catch (error) {
      if (isStreamNotFound(error)) return undefined;
      throw mapEsdbError(error);
    }
    return page;
  }

  private async readAllPage(
    fromPosition: ReadPosition,
    backwards: boolean,
  ): Promise<AllStreamResolvedEvent[]> {
    const page: AllStreamResolvedEvent[] = [];
    try {
      const read = this.client.readAll({
        fromPosition,
        direction: backwards ? BACKWARDS : FORWARDS,
        maxCount: PAGE_SIZE,
        resolveLinkTos: false,
      });
      for await (const resolved of read) page.push(resolved);
    } catch (error) {
      throw mapEsdbError(error);
    }
    return page;
  }

  /** The position of one event, for the rare append result that comes without it. */
  private async positionOfRevision(streamId: string, revision: number): Promise<Position> {
    const page = await this.readStreamPage(streamId, BigInt(revision), false, 1);
    const event = page?.[0]?.event;
    if (event === undefined)
      throw new EventStoreError(`stream ${streamId}: revision ${revision} not found after append`);
    return toRecordedEvent(event).position;
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreClosedError("the event store is closed");
  }
}

/** A server checkpoint, as progress the gate may pass on (an unreadable one is ignored). */
function checkpointInto(gate: ProgressGate, position: Parameters<typeof fromEsdbPosition>[0]): void {
  let checkpoint: Position;
  try {
    checkpoint = fromEsdbPosition(position);
  } catch {
    return;
  }
  gate.checkpoint(checkpoint);
}

/**
 * Passes a subscription's events and signals through the gate: events after `after`, marked as
 * selected or only examined; any error, end or close of the call fails the subscriber.
 */
function forward(
  current: AllStreamSubscription,
  gate: ProgressGate,
  handle: ActiveSubscription,
  how: {
    readonly after: Position | undefined;
    readonly matches: ReturnType<typeof eventMatcher>;
    readonly finished: () => boolean;
  },
): void {
  current.on("caughtUp", () => gate.caughtUpSignal());
  current.on("data", (resolved: AllStreamResolvedEvent) => {
    if (how.finished()) return;
    const event = resolved.event;
    if (event === undefined) return;
    let recorded: RecordedEvent;
    try {
      const raw = positionOfResolved(resolved);
      recorded = toRecordedEvent(
        raw === undefined || raw === event.position ? event : { ...event, position: raw },
      );
    } catch (error) {
      handle.fail(
        new SubscriptionDroppedError("the subscription to $all delivered an unreadable event", {
          cause: error,
        }),
      );
      return;
    }
    if (how.after !== undefined && !isAfter(recorded.position, how.after)) return;
    gate.event(recorded, !isSystemEvent(event.type) && how.matches(event.streamId, event.type));
  });
  current.on("error", (error: unknown) => {
    const cause = mapEsdbError(error);
    handle.fail(
      new SubscriptionDroppedError(`the subscription to $all dropped: ${cause.message}`, { cause }),
    );
  });
  current.on("end", () => {
    handle.fail(new SubscriptionDroppedError("the server ended the subscription to $all"));
  });
  current.on("close", () => {
    handle.fail(new SubscriptionDroppedError("the subscription to $all closed"));
  });
}
