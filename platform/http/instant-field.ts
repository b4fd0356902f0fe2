import { readInstant } from "../instant.js";
import { invalidField } from "./problem.js";

/**
 * A request's instant (`body.startsAt`, `query.from`...), read by the one reading every route gives
 * one (platform/instant.ts), or a 400 `validation` naming the field and why. The schemas' `date-time`
 * format lets through what RFC 3339 allows but no stored instant holds (a leap second, an offset
 * past 9999-12-31): this is what refuses those.
 */
export function instantField(text: string, field: string): { readonly ms: number; readonly iso: string } {
  const read = readInstant(text);
  if ("ms" in read) return read;
  throw invalidField(field, read.refused);
}

/** The rule instantField enforces, in a line of an operation's rules (after the field's name). */
export const INSTANT_RULE =
  "an instant between the years 0000 and 9999 once in UTC, not a leap second (`:60`), read to the millisecond (fraction digits past the third are dropped).";
