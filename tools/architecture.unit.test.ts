import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { checkTree, cyclesOf, mayImport } from "./architecture.js";

const root = resolve(import.meta.dirname, "..");

describe("the project's shape", () => {
  it("has no import running up the flow, no production file over 500 lines and no function over 80", () => {
    // Each breach names the file and what to do: split along a seam, or move the import's target down.
    expect(checkTree(root).map((breach) => `${breach.rule} ${breach.file}: ${breach.detail}`)).toEqual([]);
  });

  it("lets a folder import only itself and the folders before it in the flow", () => {
    expect(mayImport("app", "write-side")).toBe(true);
    expect(mayImport("read-api", "projections")).toBe(true);
    expect(mayImport("write-side", "event-store")).toBe(true);
    expect(mayImport("projections", "app")).toBe(false);
    expect(mayImport("schemas", "write-side")).toBe(false);
    expect(mayImport("platform", "schemas")).toBe(false);
    expect(mayImport("event-store", "schemas")).toBe(false);
    expect(mayImport("event-store", "platform")).toBe(true);
    expect(mayImport("document-store", "event-store")).toBe(false);
    expect(mayImport("app", "bench")).toBe(false);
    expect(mayImport("app", "test-support")).toBe(false);
    expect(mayImport("bench", "test-support")).toBe(true);
    expect(mayImport("test-support", "tools")).toBe(true);
    expect(mayImport("test-support", "bench")).toBe(false);
    expect(mayImport("tools", "client")).toBe(false);
  });

  it("finds every import cycle, a file importing itself included, and none in a tree without one", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts", "d.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["d.ts", "outside.ts"]],
      ["e.ts", ["a.ts"]],
    ]);
    expect(cyclesOf(graph)).toEqual(expect.arrayContaining([["a.ts", "b.ts", "c.ts"], ["d.ts"]]));
    expect(cyclesOf(graph)).toHaveLength(2);
    expect(
      cyclesOf(
        new Map([
          ["a.ts", ["b.ts"]],
          ["b.ts", []],
        ]),
      ),
    ).toEqual([]);
  });

  it("finds each kind of breach in a tree that has them", () => {
    const tree = mkdtempSync(join(tmpdir(), "architecture-"));
    try {
      mkdirSync(join(tree, "platform"));
      mkdirSync(join(tree, "write-side"));
      writeFileSync(join(tree, "write-side", "handler.ts"), "export const handle = () => 1;\n");
      const longFunction = `export function long() {\n${"  void 0;\n".repeat(85)}}\n`;
      writeFileSync(
        join(tree, "platform", "http.ts"),
        `import { handle } from "../write-side/handler.js";\nvoid handle;\n${longFunction}${"// filler\n".repeat(500)}`,
      );
      writeFileSync(join(tree, "platform", "http.unit.test.ts"), `${"// a test may be long\n".repeat(600)}`);
      // A type-only cycle between two files, and support for tests importing a bench.
      writeFileSync(join(tree, "write-side", "front.ts"), 'export type { Part } from "./part.js";\n');
      writeFileSync(
        join(tree, "write-side", "part.ts"),
        'import type { Part as P } from "./front.js";\nexport type Part = P | 1;\n',
      );
      mkdirSync(join(tree, "test-support"));
      mkdirSync(join(tree, "bench"));
      writeFileSync(join(tree, "bench", "load.ts"), "export const load = 1;\n");
      writeFileSync(
        join(tree, "test-support", "helper.ts"),
        'import { load } from "../bench/load.js";\nvoid load;\n',
      );
      // An export only a test imports (a helper for tests in a production file), beside one the
      // file itself uses too (production code its test also calls), which is no breach.
      writeFileSync(
        join(tree, "write-side", "rules.ts"),
        "export const forTests = 1;\nexport const used = 2;\nexport const twice = used * 2;\n",
      );
      writeFileSync(
        join(tree, "write-side", "rules.unit.test.ts"),
        'import { forTests, used } from "./rules.js";\nvoid forTests;\nvoid used;\n',
      );
      const found = checkTree(tree).map((breach) => `${breach.rule} ${breach.file}`);
      expect(found.sort()).toEqual([
        "cycle write-side/front.ts",
        "file-length platform/http.ts",
        "function-length platform/http.ts",
        "import platform/http.ts",
        "import test-support/helper.ts",
        "test-only-export write-side/rules.ts",
      ]);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
});
