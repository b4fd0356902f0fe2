import { Type } from "@sinclair/typebox";
import { CarNumber } from "./common.js";

/**
 * Finding a reservation by a part of its plate (`?carNumber=8612` finds `10더8612`): a plate and a
 * fragment are compared in one form (NFC, no spaces or hyphens, Latin letters upper-case), and the
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

/** The form plates are compared in. */
export const plateForm = (plate: string): string =>
  plate
    .normalize("NFC")
    .replace(/[\s\-‐-―]/gu, "")
    .toUpperCase();

/** Every suffix of a plate's form at least MIN_PLATE_FRAGMENT long, each once. */
export function plateSuffixes(plate: string): string[] {
  const chars = [...plateForm(plate)];
  const suffixes = new Set<string>();
  for (let i = 0; i + MIN_PLATE_FRAGMENT <= chars.length; i++) suffixes.add(chars.slice(i).join(""));
  return [...suffixes];
}

/** The range of suffixes a fragment is a prefix of: [from, until) in code-point (UTF-8) order. */
export function fragmentRange(fragment: string): { $gte: string; $lt: string } {
  const form = plateForm(fragment);
  return { $gte: form, $lt: `${form}\u{10FFFF}` };
}
