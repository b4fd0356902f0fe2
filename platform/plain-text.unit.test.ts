import { describe, expect, it } from "vitest";
import {
  FORBIDDEN_RANGES,
  FORBIDDEN_TEXT,
  NOT_BLANK_PATTERN,
  PLAIN_TEXT_NOT_BLANK_PATTERN,
  PLAIN_TEXT_PATTERN,
  WHITESPACE_RANGES,
} from "./plain-text.js";

const inRanges = (ranges: readonly (readonly [number, number])[], code: number) =>
  ranges.some(([from, to]) => code >= from && code <= to);

describe("the characters no request text may hold", () => {
  it("are exactly the controls and format characters of this Node.js's Unicode", () => {
    const misses: string[] = [];
    for (let code = 0; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const forbidden = /[\p{Cc}\p{Cf}]/u.test(String.fromCodePoint(code));
      if (forbidden !== inRanges(FORBIDDEN_RANGES, code)) misses.push(code.toString(16));
    }
    expect(misses).toEqual([]);
  });

  it("list as whitespace what ECMA-262's \\s matches", () => {
    for (let code = 0; code <= 0xffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      expect(inRanges(WHITESPACE_RANGES, code), code.toString(16)).toBe(
        /\s/u.test(String.fromCharCode(code)),
      );
    }
  });

  it("make patterns that accept text in any script and refuse what the code refuses", () => {
    const plain = new RegExp(PLAIN_TEXT_PATTERN, "u");
    const notBlank = new RegExp(PLAIN_TEXT_NOT_BLANK_PATTERN, "u");
    for (const text of ["강남 1주차장", "Café-Ünter", "🅿️ lot", "تجربة"]) {
      expect(plain.test(text)).toBe(true);
      expect(notBlank.test(text)).toBe(true);
      expect(FORBIDDEN_TEXT.test(text)).toBe(false);
    }
    for (const text of ["a\u0000b", "a\u202Eb", "\uFEFFa", "a\u200Bb", "tag\u{E0041}"]) {
      expect(plain.test(text), JSON.stringify(text)).toBe(false);
      expect(FORBIDDEN_TEXT.test(text)).toBe(true);
    }
    expect(FORBIDDEN_TEXT.test("a\uD800b")).toBe(true);
    expect(notBlank.test(" \u3000\u00A0")).toBe(false);
    expect(new RegExp(NOT_BLANK_PATTERN, "u").test("\u2003x")).toBe(true);
    expect(new RegExp(NOT_BLANK_PATTERN, "u").test("\u2003\u3000")).toBe(false);
  });
});
