import { afterEach, describe, expect, it, vi } from "vitest";

describe("the lot snapshot's schemas (issue 50)", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("are not compiled when the module loads (the processors thread never decodes a lot), but by the command side's warm-up", async () => {
    vi.resetModules(); // this module and the one ajv it compiles with, loaded afresh
    const { ajv } = await import("../../schemas/validation.js");
    const compile = vi.spyOn(ajv, "compile");
    const snapshot = await import("./snapshot.js");
    expect(compile).not.toHaveBeenCalled();
    snapshot.precompileSnapshotSchemas();
    expect(compile).toHaveBeenCalledTimes(2);
  });
});
