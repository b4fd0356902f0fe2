import {
  type AllStreamSubscription,
  ANY,
  type AppendExpectedRevision,
  END,
  type Position as EsdbPosition,
  eventTypeFilter,
  excludeSystemEvents,
  type Filter,
  NO_STREAM,
  type ReadPosition,
  START,
  STREAM_EXISTS,
  streamNameFilter,
} from "@eventstore/db-client";
import {
  AppendTooLargeError,
  EventStoreError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
} from "../errors.js";
import type { CompiledEventFilter } from "../event-filter.js";
import type { ExpectedRevision, RecordedEvent } from "../port.js";
import { fromBigInt, type Position } from "../position.js";

/**
 * Pure translations between the port and @eventstore/db-client 6.x, kept apart from the adapter so
 * they can be unit-tested without a server. Nothing outside this folder sees a vendor type.
 */

export function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case "any":
      return ANY;
    case "no_stream":
      return NO_STREAM;
    case "stream_exists":
      return STREAM_EXISTS;
    default:
      return BigInt(expected);
  }
}

export function toEsdbPosition(position: Position): EsdbPosition {
  return { commit: BigInt(position.commit), prepare: BigInt(position.prepare) };
}

export function toEsdbReadPosition(from: "start" | "end" | Position): ReadPosition {
  return from === "start" ? START : from === "end" ? END : toEsdbPosition(from);
}

/** ulong.MaxValue: what servers put in stream reads when they do not know the $all position. */
const NO_POSITION = 18446744073709551615n;

export function fromEsdbPosition(position: EsdbPosition): Position {
  return fromBigInt(position.commit, position.prepare);
}

/** Events of the server itself ($-prefixed types: $metadata, $>, $ProjectionUpdated, …). */
export function isSystemEvent(type: string): boolean {
  return type.startsWith("$");
}

/** The fields of a client RecordedEvent that we read (JSON and binary events alike). */
export interface EsdbRecordedEventLike {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly data: unknown;
  readonly metadata?: unknown;
  readonly created: Date;
  readonly isJson: boolean;
  readonly position?: EsdbPosition | undefined;
}

/**
 * The $all position of a read or subscription result: the event's own, or else the commit position
 * the server sent alongside it (as both parts, like a non-transactional event's).
 */
export function positionOfResolved(resolved: {
  readonly event?: { readonly position?: EsdbPosition | undefined } | undefined;
  readonly commitPosition?: bigint | undefined;
}): EsdbPosition | undefined {
  const own = resolved.event?.position;
  if (own !== undefined && own.commit !== NO_POSITION && own.prepare !== NO_POSITION) return own;
  const { commitPosition } = resolved;
  return commitPosition === undefined || commitPosition === NO_POSITION
    ? undefined
    : { commit: commitPosition, prepare: commitPosition };
}

export function toRecordedEvent(event: EsdbRecordedEventLike): RecordedEvent {
  const { position } = event;
  if (position === undefined || position.commit === NO_POSITION || position.prepare === NO_POSITION) {
    throw new EventStoreError(
      `event ${event.id} of ${event.streamId} came without its $all position (EventStoreDB 22.6 or later is required)`,
    );
  }
  return {
    id: event.id,
    streamId: event.streamId,
    revision: safeNumber(event.revision, "revision"),
    position: fromEsdbPosition(position),
    type: event.type,
    data: event.data,
    metadata: toMetadata(event.metadata),
    createdAt: event.created,
  };
}

function toMetadata(metadata: unknown): Readonly<Record<string, unknown>> {
  return typeof metadata === "object" &&
    metadata !== null &&
    !Array.isArray(metadata) &&
    !(metadata instanceof Uint8Array)
    ? (metadata as Record<string, unknown>)
    : {};
}

function safeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`${what} ${value} exceeds the safe integer range`);
  }
  return Number(value);
}

/** The stream's actual revision as the client reports it: a bigint, or "no_stream". */
export function fromEsdbActualRevision(actual: unknown): number | "no_stream" | undefined {
  if (actual === NO_STREAM) return "no_stream";
  if (typeof actual === "bigint") return actual < 0n ? "no_stream" : safeNumber(actual, "revision");
  if (typeof actual === "number" && Number.isSafeInteger(actual)) return actual < 0 ? "no_stream" : actual;
  if (typeof actual === "string" && /^-?[0-9]+$/.test(actual)) return fromEsdbActualRevision(BigInt(actual));
  return undefined;
}

/** Error types (the client's `error.type`) meaning the server cannot serve now: retry later. */
const UNAVAILABLE_TYPES = new Set(["unavailable", "deadline-exceeded", "timeout", "not-leader", "cancelled"]);
/** gRPC status codes with the same meaning (CANCELLED, DEADLINE_EXCEEDED, ABORTED, UNAVAILABLE). */
const UNAVAILABLE_CODES = new Set([1, 4, 10, 14]);

function field(error: unknown, name: string): unknown {
  return typeof error === "object" && error !== null ? (error as Record<string, unknown>)[name] : undefined;
}

function describeError(error: unknown): string {
  const message = field(error, "message");
  const type = field(error, "type");
  if (typeof message === "string" && message.length > 0) return message;
  if (typeof type === "string") return type;
  return String(error);
}

/**
 * Maps whatever the client threw to our errors. `append` gives the context of an append, needed to
 * build a WrongExpectedRevisionError (the client's message for it is empty).
 */
export function mapEsdbError(
  error: unknown,
  append?: { streamId: string; expected: ExpectedRevision },
): Error {
  if (error instanceof EventStoreError || error instanceof RangeError) return error;
  const type = field(error, "type");
  if (type === "wrong-expected-version") {
    const streamName = field(error, "streamName");
    return new WrongExpectedRevisionError(
      append?.streamId ?? (typeof streamName === "string" ? streamName : "unknown"),
      append?.expected ?? fromEsdbExpectedRevision(field(error, "expectedVersion")),
      fromEsdbActualRevision(field(error, "actualVersion")),
    );
  }
  const code = field(error, "code");
  const message = describeError(error);
  if (/Maximum Append Size/i.test(message)) {
    return new AppendTooLargeError(
      `EventStoreDB refused the append${append ? ` to ${append.streamId}` : ""} as too large (raise the server's MaxAppendSize and EVENTSTORE_MAX_APPEND_SIZE): ${message}`,
      { cause: error },
    );
  }
  if (
    (typeof type === "string" && UNAVAILABLE_TYPES.has(type)) ||
    (type === undefined && typeof code === "number" && UNAVAILABLE_CODES.has(code)) ||
    /Failed to discover|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH/.test(message)
  ) {
    return new EventStoreUnavailableError(`EventStoreDB unavailable: ${message}`, { cause: error });
  }
  return new EventStoreError(`EventStoreDB error: ${message}`, { cause: error });
}

export function isStreamNotFound(error: unknown): boolean {
  const type = field(error, "type");
  return type === "stream-not-found" || type === "stream-deleted";
}

function fromEsdbExpectedRevision(expected: unknown): ExpectedRevision {
  if (expected === ANY || expected === NO_STREAM || expected === STREAM_EXISTS) return expected;
  if (typeof expected === "bigint" && expected >= 0n && expected <= BigInt(Number.MAX_SAFE_INTEGER)) {
    return Number(expected);
  }
  return "any";
}

/** Escapes a literal for a .NET regular expression (what the server evaluates). */
export function escapeRegex(literal: string): string {
  return literal.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
}

/**
 * The server-side filter of a subscription. Types are matched exactly (an anchored alternation;
 * the server only offers prefixes or regexes), prefixes as prefixes. Only one filter can be sent,
 * so with a stream filter system events are still dropped on our side (isSystemEvent).
 */
/** How the server reports progress through events a filter skips (see EventStoreDbEventStore.followAll). */
export interface CheckpointOptions {
  readonly checkpointInterval?: number;
  readonly checkpointReached?: (subscription: AllStreamSubscription, position: EsdbPosition) => void;
}

export function toSubscriptionFilter(
  filter: CompiledEventFilter,
  checkpoints: CheckpointOptions = {},
): Filter {
  switch (filter.kind) {
    case "types":
      return eventTypeFilter({
        regex: `^(?:${filter.eventTypes.map(escapeRegex).join("|")})$`,
        ...checkpoints,
      });
    case "prefixes":
      return streamNameFilter({ prefixes: [...filter.streamPrefixes], ...checkpoints });
    case "all":
    case "none":
      return excludeSystemEvents(checkpoints);
  }
}
