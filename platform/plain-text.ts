/**
 * What no text of a request may hold, in one list that both the check in code
 * (platform/http/middleware.ts) and the schemas' patterns are built from: Unicode's controls (Cc:
 * C0, DEL, C1) and format characters (Cf: bidirectional overrides and isolates, zero-width joiners
 * and spaces, the BOM, tags), which make text display as something other than what it is.
 * Unpaired surrogates (Cs) are refused too, by the code only: they are not text, UTF-8 cannot carry
 * them (only a JSON `\uD800`-style escape can), and no portable pattern can name them.
 *
 * The patterns are written with the characters themselves, not `\p{…}` classes or `\u` escapes,
 * so every JSON Schema validator (ECMA-262, Python, Go, Java) reads them alike.
 * platform/plain-text.unit.test.ts holds the list to the Unicode of the Node.js that runs it.
 */
export const FORBIDDEN_RANGES: readonly (readonly [number, number])[] = [
  [0x0, 0x1f],
  [0x7f, 0x9f],
  [0xad, 0xad],
  [0x600, 0x605],
  [0x61c, 0x61c],
  [0x6dd, 0x6dd],
  [0x70f, 0x70f],
  [0x890, 0x891],
  [0x8e2, 0x8e2],
  [0x180e, 0x180e],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x2064],
  [0x2066, 0x206f],
  [0xfeff, 0xfeff],
  [0xfff9, 0xfffb],
  [0x110bd, 0x110bd],
  [0x110cd, 0x110cd],
  [0x13430, 0x1343f],
  [0x1bca0, 0x1bca3],
  [0x1d173, 0x1d17a],
  [0xe0001, 0xe0001],
  [0xe0020, 0xe007f],
];

/** What ECMA-262's `\s` matches, so that "not blank" means the same to every validator. */
export const WHITESPACE_RANGES: readonly (readonly [number, number])[] = [
  [0x9, 0xd],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];

/** The inside of a character class holding `ranges`, written with the characters themselves. */
const classOf = (ranges: readonly (readonly [number, number])[]): string =>
  ranges
    .map(([from, to]) =>
      from === to ? String.fromCodePoint(from) : `${String.fromCodePoint(from)}-${String.fromCodePoint(to)}`,
    )
    .join("");

const FORBIDDEN = classOf(FORBIDDEN_RANGES);

/** A string of plain text (possibly empty). */
export const PLAIN_TEXT_PATTERN = `^[^${FORBIDDEN}]*$`;
/** Plain text with at least one character that is not whitespace. */
export const PLAIN_TEXT_NOT_BLANK_PATTERN = `^[^${FORBIDDEN}]*[^${FORBIDDEN}${classOf(WHITESPACE_RANGES)}][^${FORBIDDEN}]*$`;
/** Somewhere a character that is not whitespace (unanchored). */
export const NOT_BLANK_PATTERN = `[^${classOf(WHITESPACE_RANGES)}]`;

/** The rule in words, for descriptions. */
export const PLAIN_TEXT_RULE =
  "no control (Unicode Cc) or format (Cf: bidirectional, zero-width, BOM, tag) characters, as the pattern lists them, and no unpaired surrogate (refused by the service; only a `\\uD800`-style escape can send one)";

/** The first forbidden character of a string, unpaired surrogates included. */
export const FORBIDDEN_TEXT = new RegExp(`[${FORBIDDEN}\\uD800-\\uDFFF]`, "u");
