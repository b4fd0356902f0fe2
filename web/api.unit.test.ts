import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/*
 * The page calls the service only through web/src/api.ts, whose calls are typed by the client
 * generated from the OpenAPI document (client/api.d.ts): `npm run typecheck` then fails on any
 * path, parameter or body the document does not have. This keeps a hand-written request from
 * slipping in beside it, where the compiler would not check it against the document.
 */

const SOURCES = join(import.meta.dirname, "src");
const sources = readdirSync(SOURCES)
  .filter((name) => /\.tsx?$/.test(name))
  .map((name) => ({ name, text: readFileSync(join(SOURCES, name), "utf8") }));

describe("the page's calls to the service", () => {
  it("go through the generated client in api.ts, never a hand-written request", () => {
    const offending = sources.flatMap(({ name, text }) =>
      [/\bfetch\s*\(/, /XMLHttpRequest/, /navigator\.sendBeacon/, /axios/]
        .filter((pattern) => pattern.test(text))
        .map((pattern) => `${name}: ${pattern}`),
    );
    expect(offending).toEqual([]);
    const api = sources.find((s) => s.name === "api.ts")?.text ?? "";
    expect(api).toMatch(/createClient<paths>/);
    expect(api).toMatch(/from "\.\.\/\.\.\/client\/api\.js"/);
  });

  it("name the API's paths only in api.ts, where the document types them", () => {
    // Other modules may link to pages (/control-center, /sign-in) but not call API paths.
    const apiPaths = [/["'`]\/parking-lots/, /["'`]\/reservations/, /["'`]\/coupons/];
    const elsewhere = sources
      .filter(({ name }) => name !== "api.ts")
      .flatMap(({ name, text }) => apiPaths.filter((p) => p.test(text)).map((p) => `${name}: ${p}`));
    expect(elsewhere).toEqual([]);
  });
});
