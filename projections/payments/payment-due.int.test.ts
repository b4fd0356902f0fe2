import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryDocumentStore } from "../../document-store/memory/memory-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { systemActor } from "../../schemas/actor.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import { tempDataDir } from "../../test-support/service.js";
import { paymentStream } from "../../write-side/payment/payment.js";
import type { PaymentEvent } from "../../write-side/payment/payment-facts.js";
import { PAYMENT_DUE, rebuildDue } from "./payment-due.js";

/*
 * Issue 68 item 4: the due index is derived. Lost or emptied, it is rebuilt from the payment
 * streams alone: every booking whose payment has a next step (a settlement's step not recorded, a
 * hold before the stay to make) is due again, and none whose money is done.
 */
const NOW = "2026-12-01T00:00:00.000Z";
let store: SqliteEventStore;
let remove: () => void;
beforeAll(async () => {
  const data = tempDataDir("payment-due-");
  remove = data.remove;
  store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite"), pollIntervalMs: 20 });
  const ids = (reservationId: string) => ({ reservationId, parkingLotId: "L1", intentId: "pi_1" });
  const authorized = (id: string): PaymentEvent => ({
    type: "PaymentAuthorized",
    data: { ...ids(id), amount: 5000, currency: "KRW", authorizedAt: NOW },
  });
  const settled = (id: string): PaymentEvent => ({
    type: "PaymentSettlementDecided",
    data: {
      ...ids(id),
      currency: "KRW",
      ...{ capture: 3000, release: 2000, offSession: 0, refund: 0 },
      because: "check-out",
      decidedAt: NOW,
    },
  });
  const saved: PaymentEvent = {
    type: "PaymentCardSaved",
    data: {
      ...ids("r-saved"),
      amount: 5000,
      currency: "KRW",
      authorizeAt: "2026-12-09T00:00:00.000Z",
      savedAt: NOW,
    },
  };
  const cause = { correlationId: "c", causationId: "c", actor: systemActor("payments") };
  const append = (id: string, events: PaymentEvent[], expectedRevision: "no_stream" | number = "no_stream") =>
    store.appendToStream(
      paymentStream(id),
      events.map((event) => encodeEvent(event, cause)),
      { expectedRevision },
    );
  await append("r-settling", [authorized("r-settling"), settled("r-settling")]);
  await append("r-saved", [saved]);
  await append("r-done", [authorized("r-done"), settled("r-done")]);
  // r-done's steps recorded: its settlement's id is the second fact's.
  let settlementId = "";
  for await (const recorded of store.readStream(paymentStream("r-done"))) settlementId = recorded.id;
  const outcome = { ...ids("r-done"), settlementId };
  const captured = { ...outcome, amount: 3000, currency: "KRW", capturedAt: NOW };
  const released = { ...outcome, amount: 2000, releasedAt: NOW };
  await append(
    "r-done",
    [
      { type: "PaymentCaptured", data: captured },
      { type: "PaymentReleased", data: released },
    ],
    1,
  );
});
afterAll(async () => {
  await store.close();
  remove();
});

const due = async (documents: MemoryDocumentStore) =>
  (await documents.find<{ _id: string; dueAt?: string }>(PAYMENT_DUE, { dueAt: { $exists: true } }))
    .map((entry) => entry._id)
    .sort();

describe("the payments process manager's due index", () => {
  it("is rebuilt from the payment streams when lost, once, with each booking whose money has a next step", async () => {
    const documents = new MemoryDocumentStore();
    expect(await rebuildDue(store, documents, NOW)).toBe(2);
    expect(await due(documents)).toEqual(["r-saved", "r-settling"]);
    // Built: a second start does not walk the streams again.
    await documents.write([{ op: "delete", collection: PAYMENT_DUE, id: "r-saved" }]);
    expect(await rebuildDue(store, documents, NOW)).toBe(0);
    expect(await due(documents)).toEqual(["r-settling"]);
    // Emptied (its marker gone with it): rebuilt again.
    for (const { _id } of await documents.find<{ _id: string }>(PAYMENT_DUE, {}))
      await documents.write([{ op: "delete", collection: PAYMENT_DUE, id: _id }]);
    expect(await rebuildDue(store, documents, NOW)).toBe(2);
    expect(await due(documents)).toEqual(["r-saved", "r-settling"]);
  });
});
