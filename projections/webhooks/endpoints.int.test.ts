import { describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SecretBox } from "../../platform/secret-box.js";
import { WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES } from "./delivery-queue.js";
import { WebhookEndpoints } from "./endpoints.js";

describe("deleting a webhook endpoint", () => {
  it("deletes the messages still queued for it and its attempts' records, and no other endpoint's", async () => {
    const store = SqliteDocumentStore.open({ file: ":memory:" });
    const endpoints = new WebhookEndpoints(store, new SecretBox("b".repeat(32)));
    const now = new Date("2026-11-28T10:00:00Z");
    const types = ["reservation.reserved" as const];
    const { doc: gone } = await endpoints.create({ url: "https://a.example/hooks", eventTypes: types }, now);
    const { doc: kept } = await endpoints.create({ url: "https://b.example/hooks", eventTypes: types }, now);
    // More than a page of each (the purge goes a page at a time), with personal data in the payload.
    const queued = (endpointId: string, n: number) =>
      Array.from({ length: n }, (_, k) => ({
        op: "replace" as const,
        collection: WEBHOOK_DELIVERIES,
        id: `${endpointId}:msg_${k}`,
        document: { endpointId, commit: k, prepare: k, payload: '{"customerId":"lee.sujin"}' },
      }));
    const attempts = (endpointId: string, n: number) =>
      Array.from({ length: n }, (_, k) => ({
        op: "replace" as const,
        collection: WEBHOOK_ATTEMPTS,
        id: `${endpointId}:att_${k}`,
        document: { endpointId, status: 500 },
      }));
    await store.write([
      ...queued(gone._id, 1_201),
      ...attempts(gone._id, 650),
      ...queued(kept._id, 3),
      ...attempts(kept._id, 2),
    ]);

    await endpoints.delete(gone._id);

    expect(await endpoints.get(gone._id)).toBeNull();
    expect(await store.count(WEBHOOK_DELIVERIES, { endpointId: gone._id })).toBe(0);
    expect(await store.count(WEBHOOK_ATTEMPTS, { endpointId: gone._id })).toBe(0);
    expect(await store.count(WEBHOOK_DELIVERIES, { endpointId: kept._id })).toBe(3);
    expect(await store.count(WEBHOOK_ATTEMPTS, { endpointId: kept._id })).toBe(2);
    expect(await endpoints.get(kept._id)).toMatchObject({ url: "https://b.example/hooks" });
    await store.close();
  });
});
