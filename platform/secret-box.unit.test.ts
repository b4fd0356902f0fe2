import { describe, expect, it } from "vitest";
import { SecretBox } from "./secret-box.js";

describe("SecretBox", () => {
  it("seals so the text is not in the sealed value, opens under the same key only", () => {
    const box = new SecretBox("k".repeat(40));
    const sealed = box.seal("whsec_c2VjcmV0");
    expect(sealed).not.toContain("c2VjcmV0");
    expect(box.open(sealed)).toBe("whsec_c2VjcmV0");
    expect(box.seal("same")).not.toBe(box.seal("same"));
    expect(() => new SecretBox("o".repeat(40)).open(sealed)).toThrow();
  });
});
