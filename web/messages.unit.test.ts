import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { IntlMessageFormat } from "intl-messageformat";
import { describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../schemas/events.js";
import { RESERVATION_STATUSES } from "../schemas/reservation-time.js";
import { CATALOGUES, chooseLanguage, localeOf, translate } from "./src/i18n.js";

/** The page's code (web/src; the catalogues name no id they use). */
const SOURCE = join(import.meta.dirname, "src");
const sources = readdirSync(SOURCE)
  .filter((f) => /\.tsx?$/.test(f))
  .map((f) => ({ file: f, text: readFileSync(join(SOURCE, f), "utf8") }));

type Catalogues = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** The arguments a message takes (`{n}`, `{count, plural, …}`), by name. */
const argumentsOf = (message: string): string[] =>
  [...new Set([...message.matchAll(/\{\s*([A-Za-z]\w*)\s*[,}]/g)].map((m) => m[1] ?? ""))].sort();

/**
 * What is wrong with a set of catalogues, against the first: a key one lacks or has in excess, a
 * message that does not parse, or one taking other arguments than the first's.
 */
function catalogueFaults(catalogues: Catalogues): string[] {
  const [reference, ...others] = Object.entries(catalogues);
  if (!reference) return ["no catalogue"];
  const keys = new Set(Object.keys(reference[1]));
  const faults: string[] = [];
  for (const [language, catalogue] of [reference, ...others]) {
    for (const key of keys) if (!Object.hasOwn(catalogue, key)) faults.push(`${language} lacks ${key}`);
    for (const key of Object.keys(catalogue)) {
      if (!keys.has(key)) faults.push(`${language} has ${key}, ${reference[0]} has not`);
      const message = catalogue[key] ?? "";
      try {
        new IntlMessageFormat(message, language);
      } catch {
        faults.push(`${language} ${key} does not parse`);
      }
      if (keys.has(key) && argumentsOf(message).join() !== argumentsOf(reference[1][key] ?? "").join())
        faults.push(`${language} ${key} takes other arguments`);
    }
  }
  return faults;
}

/**
 * The message ids a page's code uses that no catalogue has: `t("id")` (or `tr("id")`), and the
 * prefixes of ids made from a code (`tCode("prefix", code)`, t(`prefix.${…}`)) no key starts with.
 */
function unknownIds(code: readonly { file: string; text: string }[], catalogues: Catalogues): string[] {
  const known = new Set(Object.values(catalogues).flatMap((c) => Object.keys(c)));
  const unknown: string[] = [];
  for (const { file, text } of code) {
    for (const [, id] of text.matchAll(/\bt(?:r)?\(\s*"([^"]+)"/g))
      if (id && !known.has(id)) unknown.push(`${file}: ${id}`);
    const prefixes = [
      ...[...text.matchAll(/\btCode\(\s*"([^"]+)"/g)].map((m) => m[1] ?? ""),
      ...[...text.matchAll(/\bt(?:r)?\(\s*`([^`$]+)\.\$\{/g)].map((m) => m[1] ?? ""),
    ];
    for (const prefix of prefixes)
      if (![...known].some((k) => k.startsWith(`${prefix}.`))) unknown.push(`${file}: ${prefix}.*`);
  }
  return unknown;
}

describe("the page's message catalogues (issue 69)", () => {
  it("every key is in every language, with the same arguments, and parses as ICU MessageFormat", () => {
    expect(Object.keys(CATALOGUES.en).length).toBeGreaterThan(300);
    expect(catalogueFaults(CATALOGUES)).toEqual([]);
  });

  it("the page's code names no message id outside the catalogues", () => {
    expect(
      sources.map((s) => [...s.text.matchAll(/\bt(?:r)?\(\s*"/g)].length).reduce((a, b) => a + b),
    ).toBeGreaterThan(200);
    expect(unknownIds(sources, CATALOGUES)).toEqual([]);
  });

  it("the checks fail on a key one catalogue lacks, on a broken message, and on an id no catalogue has", () => {
    const { "top.title": _, ...lacking } = CATALOGUES.ko;
    expect(catalogueFaults({ en: CATALOGUES.en, ko: lacking })).toEqual(["ko lacks top.title"]);
    expect(
      catalogueFaults({ en: CATALOGUES.en, ko: { ...CATALOGUES.ko, "detail.spots": "{n, plural," } }),
    ).toEqual(["ko detail.spots does not parse", "ko detail.spots takes other arguments"]);
    const page = [{ file: "x.tsx", text: 't("top.title"); t("top.titel"); tCode("nothing", code)' }];
    expect(unknownIds(page, CATALOGUES)).toEqual(["x.tsx: top.titel", "x.tsx: nothing.*"]);
  });

  it("words every code the API sends: statuses, event types, problem types", () => {
    for (const s of RESERVATION_STATUSES) expect(Object.hasOwn(CATALOGUES.en, `status.${s}`), s).toBe(true);
    for (const type of EVENT_TYPES) expect(Object.hasOwn(CATALOGUES.en, `history.${type}`), type).toBe(true);
    const problems = readFileSync(join(import.meta.dirname, "../app/problem-types.ts"), "utf8");
    const names = [...problems.matchAll(/^ {2}"?([a-z-]+)"?: \{$/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) expect(Object.hasOwn(CATALOGUES.en, `problem.${name}`), name).toBe(true);
  });

  it("plural rules by language; the language from the person's choice, else the browser's, else English", () => {
    expect(translate("en", "detail.spots", { count: 1, n: "1" })).toBe("1 spot");
    expect(translate("en", "detail.spots", { count: 3000, n: "3,000" })).toBe("3,000 spots");
    expect(translate("ko", "detail.spots", { count: 1, n: "1" })).toBe("1면");
    expect(chooseLanguage(null, ["ko-KR", "en-US"])).toBe("ko");
    expect(chooseLanguage("en", ["ko-KR"])).toBe("en");
    expect(chooseLanguage("fr", ["fr-FR", "de"])).toBe("en");
    expect(localeOf("en", ["ko-KR", "en-GB"])).toBe("en-GB");
  });
});
