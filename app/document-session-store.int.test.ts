import { afterAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import type { SessionRecord } from "../platform/auth/session-store.js";
import { tempDataDir } from "../test-support/service.js";
import { DocumentSessionStore } from "./document-session-store.js";

/** Session records in the embedded document store: keyed by a hash of the id, expiring, deletable. */
describe("DocumentSessionStore", () => {
  const data = tempDataDir("parking-sessions-");
  const documents = SqliteDocumentStore.open({ file: `${data.dir}/read-models.sqlite` });
  afterAll(async () => {
    await documents.close();
    data.remove();
  });
  const record = (expiresInMs: number): SessionRecord => ({
    sub: "ops-1",
    principal: "ops-1",
    roles: ["operator"],
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
  });

  it("stores a record under the SHA-256 of a random id, never the id itself, and forgets it on delete", async () => {
    const sessions = new DocumentSessionStore(async () => documents);
    const id = await sessions.create(record(60_000));
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await sessions.get(id)).toMatchObject({ sub: "ops-1", roles: ["operator"] });
    expect(await documents.findById("sessions", id)).toBeNull();
    expect(JSON.stringify(await documents.find("sessions", {}))).not.toContain(id);
    await sessions.delete(id);
    expect(await sessions.get(id)).toBeUndefined();
  });

  it("ends a customer's sessions by the caller's id (not the token's sub), and not staff's who share it", async () => {
    const sessions = new DocumentSessionStore(async () => documents);
    const customer = { ...record(60_000), sub: "idp|42", principal: "cust-42", roles: ["customer"] };
    const mine = [await sessions.create(customer), await sessions.create(customer)];
    const staff = await sessions.create({ ...record(60_000), sub: "cust-42", principal: "cust-42" });
    const other = await sessions.create({ ...customer, principal: "cust-43" });
    expect(await sessions.revokePrincipal("cust-42", ["operator", "attendant", "admin"])).toBe(2);
    for (const id of mine) expect(await sessions.get(id)).toBeUndefined();
    expect(await sessions.get(staff)).toMatchObject({ roles: ["operator"] });
    expect(await sessions.get(other)).toMatchObject({ principal: "cust-43" });
  });

  it("sweeps expired records of abandoned sessions when a new one starts", async () => {
    const sessions = new DocumentSessionStore(async () => documents);
    for (let i = 0; i < 3; i++)
      await documents.write([
        { op: "replace", collection: "sessions", id: `old-${i}`, document: { ...record(-60_000) } },
      ]);
    const live = await sessions.create(record(60_000));
    expect(await documents.count("sessions", { _id: { $in: ["old-0", "old-1", "old-2"] } })).toBe(0);
    expect(await sessions.get(live)).toBeDefined();
  });

  it("treats an expired record as absent, and ids of another shape as unknown", async () => {
    const sessions = new DocumentSessionStore(async () => documents);
    const id = await sessions.create(record(-1));
    expect(await sessions.get(id)).toBeUndefined();
    expect(await sessions.get("eyJhbGciOiJFUzI1NiJ9.e30.sig")).toBeUndefined();
  });

  it("renewal is a compare-and-set: one holder at a time, and a write for a spent refresh token changes nothing", async () => {
    const sessions = new DocumentSessionStore(async () => documents);
    const id = await sessions.create({ ...record(60_000), refreshToken: "rt-1" });
    const until = new Date(Date.now() + 10_000).toISOString();
    const claims = await Promise.all([1, 2, 3].map(() => sessions.claimRenewal(id, "rt-1", until)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await sessions.claimRenewal(id, "rt-0", until)).toBe(false);
    const renewed = { ...record(60_000), refreshToken: "rt-2", accessExpiresAt: until };
    expect(await sessions.replaceIfUnrenewed(id, "rt-1", renewed)).toBe(true);
    expect(await sessions.get(id)).toMatchObject({ refreshToken: "rt-2" });
    expect((await sessions.get(id))?.renewingUntil).toBeUndefined();
    // A late refusal of rt-1 (another replica's, or the provider's reuse detection) is not written.
    const ended = { ...record(60_000), ended: "refused" };
    expect(await sessions.replaceIfUnrenewed(id, "rt-1", ended)).toBe(false);
    expect(await sessions.get(id)).toMatchObject({ refreshToken: "rt-2" });
    expect((await sessions.get(id))?.ended).toBeUndefined();
    // Nor is a renewal of a session signed out meanwhile brought back.
    await sessions.delete(id);
    expect(await sessions.replaceIfUnrenewed(id, "rt-2", renewed)).toBe(false);
    expect(await sessions.get(id)).toBeUndefined();
  });
});
