import { createCipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { secretKey } from "./secret-key.js";

describe("secretKey: key bytes as the KeyObject every key is used as (issue 50)", () => {
  it("holds a copy of the bytes, wipes them, and seals as the bytes would", () => {
    const bytes = randomBytes(32);
    const copy = Buffer.from(bytes);
    const key = secretKey(bytes);
    expect(key.type).toBe("secret");
    expect(key.symmetricKeySize).toBe(32);
    expect(key.export().equals(copy)).toBe(true);
    expect(bytes.equals(Buffer.alloc(32))).toBe(true);
    const iv = randomBytes(12);
    const sealed = (k: typeof key | Buffer) => {
      const cipher = createCipheriv("aes-256-gcm", k, iv);
      return Buffer.concat([cipher.update("12더3456", "utf8"), cipher.final(), cipher.getAuthTag()]);
    };
    expect(sealed(key).equals(sealed(copy))).toBe(true);
  });
});
