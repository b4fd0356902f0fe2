import { createCipheriv, createDecipheriv, createHash, type KeyObject, randomBytes } from "node:crypto";
import { secretKey } from "./secret-key.js";

/**
 * Seals secrets that must be stored where others may read (the document store: a dump, a backup)
 * with AES-256-GCM under a key kept elsewhere (configuration, or a file under DATA_DIR). A sealed
 * value is `v1.<iv>.<tag>.<ciphertext>` in base64url; opening one sealed under another key fails.
 */
export class SecretBox {
  private readonly key: KeyObject;

  /** `key`: any secret text of 32+ characters; the AES key is its SHA-256. */
  constructor(key: string) {
    this.key = secretKey(createHash("sha256").update(key, "utf8").digest());
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const sealed = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return ["v1", iv, cipher.getAuthTag(), sealed]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(".");
  }

  open(sealed: string): string {
    const [version, iv, tag, data] = sealed.split(".");
    if (version !== "v1" || !iv || !tag || data === undefined) throw new Error("not a sealed secret");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  }
}
