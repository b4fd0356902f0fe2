import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CLIENT_TYPES, clientTypes } from "./generate.js";

describe("the generated client", () => {
  it("is generated from the current OpenAPI document (run `npm run client` if this fails)", async () => {
    expect(readFileSync(CLIENT_TYPES, "utf8")).toBe(await clientTypes());
  });
});
