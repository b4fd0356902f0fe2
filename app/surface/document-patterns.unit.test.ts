import { describe, expect, it } from "vitest";
import { SERVICE_FORMATS } from "../../schemas/common.js";
import { serviceAccess } from "../access.js";
import { openApiDocument } from "./document.js";

/**
 * The served document's patterns are read alike by every JSON Schema validator (ECMA-262 in
 * JavaScript, Python's re, Go's RE2, Java's regex): JSON Schema's portable subset of ECMA-262, no
 * Unicode property classes (`\p{…}`), no lookaround, no class shorthands whose meaning differs
 * between engines (`\s`, `\d`, `\w`, `\b`: ASCII in some, Unicode in others), no `\u` escapes (RE2
 * has none) and no backreferences or inline flags. What a pattern cannot say portably is a
 * `format` the service checks, stated in its description.
 */

/** Why `pattern` is not portable, or undefined when it is. */
function nonPortable(pattern: string): string | undefined {
  try {
    new RegExp(pattern, "u");
  } catch (error) {
    return `not an ECMA-262 regular expression: ${(error as Error).message}`;
  }
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === "(" && pattern[i + 1] === "?" && pattern[i + 2] !== ":")
      return `group (?${pattern[i + 2]}…: only (?:…) is portable`;
    if (char !== "\\") continue;
    const next = pattern[i + 1] ?? "";
    if (next === "x" && /^[0-9A-Fa-f]{2}$/.test(pattern.slice(i + 2, i + 4))) {
      i += 3;
      continue;
    }
    if (!/[\\^$.|?*+()[\]{}/\-tnrf]/.test(next)) return `escape \\${next}`;
    i++;
  }
  return undefined;
}

/** Every `pattern` and `format` in the document, with where it is. */
function collect(value: unknown, at: string, into: { at: string; pattern?: string; format?: string }[]) {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) collect(item, `${at}/${i}`, into);
  } else if (value !== null && typeof value === "object") {
    const object = value as Record<string, unknown>;
    if (typeof object.pattern === "string") into.push({ at, pattern: object.pattern });
    if (typeof object.format === "string") into.push({ at, format: object.format });
    for (const [key, item] of Object.entries(object)) collect(item, `${at}/${key}`, into);
  }
  return into;
}

const STANDARD_FORMATS = new Set(["date-time", "date", "uuid", "uri"]);

describe("the served OpenAPI document's patterns", () => {
  const found = collect(openApiDocument(serviceAccess), "#", []);

  it("are all in the portable subset every JSON Schema validator reads alike", () => {
    const patterns = found.filter((entry) => entry.pattern !== undefined);
    expect(patterns.length).toBeGreaterThan(50);
    const breaches = patterns.flatMap(({ at, pattern }) => {
      const why = nonPortable(pattern as string);
      return why ? [`${at}: ${why} in ${pattern}`] : [];
    });
    expect(breaches).toEqual([]);
  });

  it("name only formats JSON Schema defines or the service checks", () => {
    const unknown = found.filter(
      ({ format }) => format !== undefined && !STANDARD_FORMATS.has(format) && !(format in SERVICE_FORMATS),
    );
    expect(unknown).toEqual([]);
  });

  it("refuse what JSON Schema's portable subset leaves out", () => {
    expect(nonPortable("^[\\p{L}]+$")).toMatch(/escape \\p/);
    expect(nonPortable("(?<=a)b")).toMatch(/group/);
    expect(nonPortable("^\\S+$")).toMatch(/escape \\S/);
    expect(nonPortable("^\\d$")).toMatch(/escape \\d/);
    expect(nonPortable("^\\u00e9$")).toMatch(/escape \\u/);
    expect(nonPortable("(a)\\1")).toMatch(/escape \\1/);
    expect(nonPortable("^[\\x21-\\x7E]+$")).toBeUndefined();
    expect(nonPortable("^(?:a|b)\\.[0-9]{2}$")).toBeUndefined();
  });
});
