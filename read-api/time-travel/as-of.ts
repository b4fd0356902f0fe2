import type { Request } from "express";
import { ProblemError } from "../../platform/http/problem.js";

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

/** The earliest instant asked about: nothing of this service was recorded before. */
const EARLIEST_MS = Date.parse("2000-01-01T00:00:00Z");

const refuse = (message: string) =>
  new ProblemError("validation", "The request query is invalid.", {
    errors: [{ field: "query.asOf", message }],
  });

/**
 * Reads `asOf` (already matched by the schema's pattern): digits are a log position, anything else
 * an RFC 3339 instant with an offset. Refuses what the pattern lets through but is no moment: an
 * impossible date (`02-30`), a position beyond safe integers, an instant before 2000 or after `nowMs`
 * (the future has no view yet).
 */
export function parseAsOf(asOf: string, nowMs: number): Cut {
  if (/^[0-9]+$/.test(asOf)) {
    const commit = Number(asOf);
    if (!Number.isSafeInteger(commit)) throw refuse("is beyond any position of the log");
    return { kind: "position", commit };
  }
  const ms = Date.parse(asOf);
  if (Number.isNaN(ms) || !sameCalendarDate(asOf, ms)) throw refuse("is not a valid instant");
  if (ms < EARLIEST_MS) throw refuse("is before anything was recorded");
  if (ms > nowMs) throw refuse("is in the future: ask for now without asOf");
  return { kind: "instant", ms };
}

/** Date.parse rolls `2026-02-30` over to March: the day written must be the day parsed. */
function sameCalendarDate(text: string, ms: number): boolean {
  const offset = /([+-])([0-9]{2}):([0-9]{2})$/.exec(text);
  const shift = offset ? (offset[1] === "-" ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) : 0;
  const local = new Date(ms + shift * 60_000).toISOString();
  return local.slice(0, 10) === text.slice(0, 10) && local.slice(11, 16) === text.slice(11, 16);
}
