import { describe, expect, it } from "vitest";
import { loadDriver, NativeModuleError } from "./sqlite.js";

/** What Node throws when a native module was built for another Node.js (its message, verbatim in form). */
const anotherNode = (): Error =>
  Object.assign(
    new Error(
      "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\n" +
        "was compiled against a different Node.js version using\n" +
        "NODE_MODULE_VERSION 115. This version of Node.js requires\n" +
        "NODE_MODULE_VERSION 137. Please try re-compiling or re-installing\n" +
        "the module (for instance, using `npm rebuild` or `npm install`).",
    ),
    { code: "ERR_DLOPEN_FAILED" },
  );

const missing = (name: string): Error =>
  Object.assign(new Error(`Cannot find module '${name}'\nRequire stack:\n- /app/platform/sqlite.ts`), {
    code: "MODULE_NOT_FOUND",
  });

/** A driver whose native part fails to load at the first `new Database`, as better-sqlite3's does. */
class LazilyFailing {
  constructor() {
    throw anotherNode();
  }
}

class Working {
  close(): void {}
}

describe("the SQLite driver is loaded at start, and a build for another Node.js stops it in one line", () => {
  it("a native module built for another Node.js version is found before any statement, with the advice to run npm ci", () => {
    const load = (name: string) => {
      if (name === "better-sqlite3-13") throw missing(name);
      return LazilyFailing;
    };
    let error: unknown;
    try {
      loadDriver(load, "22.12.0");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(NativeModuleError);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    expect(message).toMatch(/^better-sqlite3's native module was built for another Node\.js version/);
    expect(message).toContain("NODE_MODULE_VERSION 115, this one needs 137");
    expect(message).toContain("run `npm ci`");
  });

  it("the same when the require itself fails to open the module (Node-API build of 13)", () => {
    const load = () => {
      throw anotherNode();
    };
    expect(() => loadDriver(load, "24.1.0")).toThrow(/^better-sqlite3-13's native module .* run `npm ci`/);
  });

  it("on Node 24 without 13 installed, 12 (which aborts there) is refused with the same advice; on Node 20 it is used", () => {
    const load = (name: string) => {
      if (name === "better-sqlite3-13") throw missing(name);
      return Working;
    };
    expect(() => loadDriver(load, "24.11.0")).toThrow(NativeModuleError);
    expect(() => loadDriver(load, "24.11.0")).toThrow(/run `npm ci`/);
    expect(loadDriver(load, "20.19.0")).toBe(Working);
  });

  it("other failures are not dressed up as a version mismatch; the driver installed here loads", () => {
    const broken = new Error("boom");
    expect(() =>
      loadDriver(() => {
        throw broken;
      }),
    ).toThrow(broken);
    expect(() => new (loadDriver())(":memory:").close()).not.toThrow();
  });
});
