import { EVENT_DEFINITIONS, EVENT_TYPES, type EventType } from "./events.js";

/**
 * Upcasters: how an event written under an older `schemaVersion` (in its metadata) is read as the
 * current version, before it is validated. The log is never rewritten: old events stay as they were
 * written and are read through these, oldest first. An upcaster from version `from` turns that
 * version's data into version `from + 1`'s.
 *
 * A change of an event's shape that old events cannot meet gets a new schema version and an
 * upcaster here; a new fact gets a new event type instead (never a changed meaning of an old one).
 * Each type's steps are part of its definition (`upcasters` in schemas/event-definition.ts). Version
 * 2 (issue 68) changed one type's shape: LotPeriodOpened carries the lot's domain summary instead
 * of the write side's state codec (schemas/lot-period-opening-v1.ts); every other type reads the
 * same at both. The path is proven by schemas/event-codec.unit.test.ts.
 */
export interface Upcaster {
  readonly type: EventType;
  /** The schema version this upcaster reads (it writes `from + 1`). */
  readonly from: number;
  readonly up: (data: Readonly<Record<string, unknown>>) => Record<string, unknown>;
}

/** Every definition's steps, each named by its type. */
export const UPCASTERS: readonly Upcaster[] = EVENT_TYPES.flatMap((type) =>
  (EVENT_DEFINITIONS[type].upcasters ?? []).map((step) => ({ type, ...step })),
);

/** The data of an event of `type` written at `version`, read as `current` through `upcasters`. */
export function upcast(
  type: string,
  data: unknown,
  version: number,
  current: number,
  upcasters: readonly Upcaster[],
): unknown {
  let upcasted = data;
  for (let v = version; v < current; v++) {
    const step = upcasters.find((u) => u.type === type && u.from === v);
    if (step && upcasted !== null && typeof upcasted === "object")
      upcasted = step.up(upcasted as Record<string, unknown>);
  }
  return upcasted;
}
