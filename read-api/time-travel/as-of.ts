import type { Request } from "express";
import type { Position } from "../../event-store/position.js";
import { invalidField } from "../../platform/http/problem.js";
import { readInstant } from "../../platform/instant.js";

/** Whether a request asks a view as of a moment of the past (the access tables read it too). */
export const asksAsOf = (req: Request): boolean =>
  typeof req.query === "object" && req.query !== null && "asOf" in req.query;

/**
 * Where a fold of the log stops: after the last event at or before a log position, or before the
 * first event stamped after an instant (a lot's events are stamped by one clock in order).
 */
export type Cut =
  | { readonly kind: "position"; readonly commit: number }
  | { readonly kind: "instant"; readonly ms: number };

/** Whether an event at `position` stamped `stampMs` is at or before the cut. */
export const within = (cut: Cut, position: Position | null, stampMs: number): boolean =>
  cut.kind === "position" ? (position?.commit ?? 0) <= cut.commit : !(stampMs > cut.ms);

/** The earliest instant asked about (nothing was recorded before), and an empty log's answers' instant. */
export const EARLIEST_MS = Date.parse("2000-01-01T00:00:00Z");

const refuse = (message: string) => invalidField("query.asOf", message, "The request query is invalid.");

/**
 * Reads `asOf`: digits are a log position, anything else an RFC 3339 instant. Refuses what the
 * schema's pattern lets through but is no moment: an impossible date (`02-30`), a leap second, a
 * position beyond safe integers, an instant before 2000 or after `nowMs` (the future has no view).
 */
export function parseAsOf(asOf: string, nowMs: number): Cut {
  if (/^[0-9]+$/.test(asOf)) {
    const commit = Number(asOf);
    if (!Number.isSafeInteger(commit)) throw refuse("is beyond any position of the log");
    return { kind: "position", commit };
  }
  const read = readInstant(asOf);
  if ("refused" in read) throw refuse(read.refused);
  const { ms } = read;
  if (ms < EARLIEST_MS) throw refuse("is before anything was recorded");
  if (ms > nowMs) throw refuse("is in the future: ask for now without asOf");
  return { kind: "instant", ms };
}
