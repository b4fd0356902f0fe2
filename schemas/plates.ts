import { Type } from "@sinclair/typebox";
import { CarNumber } from "./common.js";
import { ERASED } from "./personal-data.js";

/**
 * Finding a reservation by a part of its plate (`?carNumber=8612` finds `10더8612`): a plate and a
 * fragment are compared in one form (NFKC, no spaces or hyphens, letters upper-case), and the
 * reservations projection stores each suffix of a plate's form, so that every fragment is the
 * prefix of one of them: a prefix range over an index, never a scan of all reservations.
 */

/** The shortest fragment searched: one character would match most plates. */
export const MIN_PLATE_FRAGMENT = 2;

export const PlateFragment = Type.String({
  minLength: MIN_PLATE_FRAGMENT,
  maxLength: CarNumber.maxLength,
  format: "plate-fragment",
  description:
    "Plate fragment (format `plate-fragment`, checked by the service: letters, digits and combining marks of any script, spaces and hyphens, at least one not a space or hyphen). The whole plate or any part of it, at least 2 characters; spaces and hyphens are ignored and Latin letters match either case (`8612` finds `10더8612`, `ab123` finds `AB-123-CD`).",
  examples: ["8612"],
});

/**
 * The form plates are compared in: Unicode NFKC (so full-width `１０더８６１２`, as an IME's
 * full-width mode types it, is `10더8612`), no spaces or hyphens, letters upper-case where the
 * upper case is one character (`b` is `B`, but `ß` stays `ß`: upper-cased it is `SS`, another plate).
 */
export const plateForm = (plate: string): string =>
  plate
    .normalize("NFKC")
    .replace(/[\s\-‐-―]/gu, "")
    .replace(/\p{Ll}/gu, (c) => {
      const upper = c.toUpperCase();
      return [...upper].length === 1 ? upper : c;
    })
    .normalize("NFKC");

/**
 * The key a lot's plate index files a booking under: its plate's form, except a plate erased with
 * its customer (read back as the marker `erased`), which is filed where no read's form can land (a
 * form holds no control character): a camera reading a plate `ERASED` must not find the erased
 * bookings of every erased customer.
 */
export const plateIndexKey = (carNumber: string): string =>
  carNumber === ERASED ? "\u0000erased" : plateForm(carNumber);

/**
 * The most suffixes one plate stores: a plate has at most 16 characters, but its form may have more
 * (`ß` upper-cases to `SS`, `\u0958` composes to two code points under NFC), and whoever deletes a
 * plate's suffixes by their numbers (an erasure, which no longer knows the plate) must reach them all.
 */
export const MAX_PLATE_SUFFIXES = 64;

/** Every suffix of a plate's form at least MIN_PLATE_FRAGMENT long, each once (at most MAX_PLATE_SUFFIXES). */
export function plateSuffixes(plate: string): string[] {
  const chars = [...plateForm(plate)];
  const suffixes = new Set<string>();
  for (let i = 0; i + MIN_PLATE_FRAGMENT <= chars.length && i < MAX_PLATE_SUFFIXES; i++)
    suffixes.add(chars.slice(i).join(""));
  return [...suffixes];
}

/**
 * The range of suffixes a fragment is a prefix of: [form, the form with its last character's
 * successor). The same strings in code-point (UTF-8: MongoDB, SQLite) and in UTF-16 code-unit order
 * (the in-memory store that as-of reads fold into): an upper bound of `form + U+10FFFF` is above
 * `form + "１"` (U+FF11) only in code points, since UTF-16 writes U+10FFFF with surrogates below it.
 * No plate character is U+D7FF or U+FFFF (unassigned), so the successor never crosses the surrogates.
 */
export function fragmentRange(fragment: string): { $gte: string; $lt: string } {
  const form = plateForm(fragment);
  const chars = [...form];
  const last = chars.pop();
  if (last === undefined) return { $gte: form, $lt: "\u{10FFFF}" };
  return { $gte: form, $lt: chars.join("") + String.fromCodePoint((last.codePointAt(0) as number) + 1) };
}

/** Whether a fragment has enough characters to search by once spaces and hyphens are ignored. */
export const searchableFragment = (fragment: string): boolean =>
  [...plateForm(fragment)].length >= MIN_PLATE_FRAGMENT;
