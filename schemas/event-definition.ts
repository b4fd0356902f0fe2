import type { Static, TObject } from "@sinclair/typebox";
import type { Actor } from "./actor.js";

/**
 * One event type, declared once (issue 48, item 4): its payload schema, the stream it is appended
 * to, which payload field holds its record time, its audit sentence, and how data written under
 * an older schema version is read. Everything else is derived from the registry of definitions
 * (schemas/events.ts): the codec's table, the `DomainEvent` union, each stream's type set, the
 * record time of any event (schemas/event-stamps.ts), the audit trail's sentences and the
 * personal fields (read from the schema's `Personal` marks, schemas/personal-data.ts).
 *
 * Adding an event type is one `defineEvent` beside its schema, one entry in its file's list, and
 * the decider that appends and folds it. A definition missing a piece does not compile, and a
 * definition whose pieces do not fit its schema throws when the module loads.
 */

/** The aggregate whose stream an event type is appended to. */
export const EVENT_STREAMS = ["lot", "payment", "coupon", "customer", "gate", "lotView"] as const;
export type EventStream = (typeof EVENT_STREAMS)[number];

/** The required string fields of a payload: the only ones that can hold its record time. */
type TextFieldOf<D> = { [F in keyof D]-?: D[F] extends string ? F : never }[keyof D] & string;

/** How one older schema version's data is read as the next version's (see schemas/upcasters.ts). */
export interface UpcastStep {
  /** The schema version this step reads (it writes `from + 1`). */
  readonly from: number;
  readonly up: (data: Readonly<Record<string, unknown>>) => Record<string, unknown>;
}

export interface EventDefinition<
  T extends string = string,
  S extends TObject = TObject,
  A extends EventStream = EventStream,
> {
  readonly type: T;
  /** The payload's JSON Schema; its `$id` is the type (the OpenAPI document names it so). */
  readonly schema: S;
  readonly stream: A;
  /**
   * The payload field holding the fact's record time: when the service decided it, its clock then
   * (docs/domain.md, "Business times and record times"; a window's `startsAt` is a business time).
   */
  readonly recordTime: TextFieldOf<Static<S>>;
  /** What happened, in words, for the audit trail: `by` is who did it (`actor`, in words). */
  readonly audit: (data: Static<S>, by: string, actor: Actor | undefined) => string;
  /** Why, when the fact records a reason the audit trail lists on its own. */
  readonly reason?: (data: Static<S>) => string | undefined;
  /** How data written under older schema versions is read, oldest first. */
  readonly upcasters?: readonly UpcastStep[];
  /**
   * The personal values its `Personal` marks cannot reach (inside arrays, or joined in a column):
   * the data with each replaced by `each(subject, value)`, `subject` the customer whose key seals
   * it (schemas/personal-data.ts seals and opens them with it, as it does the marked fields).
   */
  readonly personalValues?: (
    data: Static<S>,
    each: (subject: string, value: string) => string,
    /** True when the data is read from the log: only sealed values can change (`each` keeps the rest). */
    reading?: boolean,
  ) => Static<S>;
}

/** Any definition, whatever its payload (the registry's element type). */
// biome-ignore lint/suspicious/noExplicitAny: the payload type varies per element; each is checked where it is defined.
export type AnyEventDefinition = EventDefinition<string, any, EventStream>;

const isDateTimeField = (schema: TObject, field: string): boolean =>
  (schema.required ?? []).includes(field) &&
  (schema.properties[field] as { format?: unknown } | undefined)?.format === "date-time";

/**
 * An event type's definition, checked as the module loads: its schema is named by its type and its
 * record time is a required timestamp of the payload (the types check the rest).
 */
export function defineEvent<const T extends string, S extends TObject, const A extends EventStream>(
  definition: EventDefinition<T, S, A>,
): EventDefinition<T, S, A> {
  const { type, schema, stream, recordTime, audit } = definition;
  const problems = [
    schema.$id === type ? "" : `its schema's $id is ${String(schema.$id)}`,
    EVENT_STREAMS.includes(stream)
      ? ""
      : `its stream ${String(stream)} is none of ${EVENT_STREAMS.join(", ")}`,
    isDateTimeField(schema, recordTime) ? "" : `its record time ${recordTime} is no required timestamp`,
    typeof audit === "function" ? "" : "it has no audit sentence",
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`event type ${type}: ${problems.join("; ")}`);
  return Object.freeze({ ...definition });
}

/** Definitions keyed by their type, in the order given; a type given twice throws. */
export function byType<const D extends readonly AnyEventDefinition[]>(
  ...definitions: D
): { readonly [E in D[number] as E["type"]]: E } {
  const table: Record<string, AnyEventDefinition> = {};
  for (const definition of definitions) {
    if (Object.hasOwn(table, definition.type)) throw new Error(`event type ${definition.type} defined twice`);
    table[definition.type] = definition;
  }
  return table as never;
}
