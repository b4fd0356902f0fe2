import { describe, expect, it } from "vitest";
import { MemoryDocumentStore } from "../../document-store/memory/memory-document-store.js";
import { EventStoreUnavailableError } from "../../event-store/errors.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { CURRENT_SCHEMA_VERSION } from "../../schemas/events.js";
import { PAYMENT_DUE } from "./payment-due.js";
import { PAYMENT_CLIENT_SECRETS, PAYMENT_CUSTOMERS } from "./payment-inbox.js";
import { PAYMENT_PLANS } from "./payment-plans-upgrade.js";
import { keepSecretOp, noteOutage, type Outage, paymentSaga } from "./payment-saga.js";
import type { PaymentCommand } from "./step-common.js";

/** Issue 47: a provider outage is one WARN when it starts and one INFO when it ends, not a line per retry. */
describe("the payments process manager's outage log", () => {
  it("warns once when plans first meet the outage and tells once, with the retries made, when one goes through", () => {
    const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const logger = {
      warn: (fields: Record<string, unknown>, message: string) =>
        lines.push({ level: "warn", fields, message }),
      info: (fields: Record<string, unknown>, message: string) =>
        lines.push({ level: "info", fields, message }),
    } as never;
    const outage: { current?: Outage } = {};
    noteOutage(outage, ["done"], logger);
    noteOutage(outage, ["provider-out", "provider-out"], logger);
    for (let round = 0; round < 10; round++) noteOutage(outage, ["provider-out"], logger);
    noteOutage(outage, ["store-out"], logger);
    expect(lines.map((l) => l.level)).toEqual(["warn"]);
    noteOutage(outage, ["done", "provider-out"], logger);
    expect(lines.map((l) => l.level)).toEqual(["warn", "info"]);
    expect(lines[1]?.fields).toMatchObject({ retries: 13 });
    expect(lines[1]?.message).toMatch(/back/);
    noteOutage(outage, ["done"], logger);
    expect(lines).toHaveLength(2);
  });
});

/*
 * Issue 68 item 4: a booking's end is decided on its payment's stream as the saga follows the lot's
 * end event (the process's inbox), not queued as a plan; an end plan an older version (4d7e845) left
 * in the document store is decided the same way by the saga's clock work, then taken off.
 */
describe("a booking's end, followed by the payments process manager", () => {
  const ids = { parkingLotId: "L1", reservationId: "r-1" };
  const checkedOut: StoredDomainEvent = {
    event: {
      type: "ReservationCheckedOut",
      data: { ...ids, customerId: "C1", checkedOutAt: "2026-11-25T03:30:00.000Z", overstayCharge: 1500 },
    },
    id: "evt-5",
    streamId: "parkingLot-L1",
    revision: 4,
    position: { commit: 5, prepare: 5 },
    metadata: { correlationId: "corr-1", causationId: "cause", schemaVersion: CURRENT_SCHEMA_VERSION },
    createdAt: new Date(0),
  };
  const harness = (fails?: Error) => {
    const sent: { command: PaymentCommand; causationId: string }[] = [];
    const saga = paymentSaga({
      provider: {} as never,
      send: async (command, cause) => {
        if (fails) throw fails;
        sent.push({ command, causationId: cause.causationId });
        return { ok: true, recorded: true };
      },
      lotState: async () => {
        throw new Error("not read for a booking's end");
      },
    });
    const documentStore = new MemoryDocumentStore();
    const logger = { debug() {}, info() {}, warn() {}, error() {} } as never;
    const reads: string[] = [];
    const eventStore = {
      readAll: async function* () {}, // no payment stream to rebuild the due index from
      readStream: (stream: string) => {
        reads.push(stream);
        return [][Symbol.iterator](); // an empty stream
      },
    };
    const now = () => Date.parse("2026-11-25T03:31:00.000Z");
    const context = { documentStore, eventStore, logger, now } as never;
    return { saga, sent, documentStore, context, reads };
  };
  const settle = {
    type: "SettleBooking",
    ...ids,
    end: { because: "check-out", overstayCharge: 1500 },
    now: "2026-11-25T03:30:00.000Z",
    endedBy: "evt-5",
  };

  it("decides its settlement on the payment's stream as it follows the end event, and queues nothing for it", async () => {
    const { saga, sent, context } = harness();
    const ops = (await saga.react([checkedOut], context)) ?? [];
    expect(sent).toEqual([{ command: settle, causationId: "evt-5" }]);
    expect(ops.filter((op) => op.collection === PAYMENT_PLANS)).toEqual([]);
  });

  it("a cancel or a no-show queues nothing (a booking never asked to be paid, or one to void: decided as followed)", async () => {
    const { saga, sent, context } = harness();
    const canceled = {
      ...checkedOut,
      id: "evt-6",
      event: {
        type: "ReservationCanceled",
        data: { ...ids, customerId: "C1", reason: "payment-expired", canceledAt: "2026-11-25T03:30:00.000Z" },
      },
    } as StoredDomainEvent;
    const ops = (await saga.react([canceled], context)) ?? [];
    expect(ops.filter((op) => op.collection === PAYMENT_PLANS)).toEqual([]);
    expect(sent).toMatchObject([
      { command: { type: "SettleBooking", endedBy: "evt-6" }, causationId: "evt-6" },
    ]);
  });

  it("takes a due booking with nothing left to do off after one read of its payment's stream", async () => {
    const { saga, documentStore, context, reads } = harness();
    const entry = { dueAt: "2026-11-25T03:30:00.000Z", attempt: 0 };
    await documentStore.write([{ op: "replace", collection: PAYMENT_DUE, id: "r-1", document: entry }]);
    await saga.tick?.run(context);
    expect(await documentStore.findById(PAYMENT_DUE, "r-1")).toBeNull();
    expect(reads).toEqual(["payment-r-1"]);
  });

  it("an end plan 4d7e845 queued is decided by the clock work the same way, then taken off", async () => {
    const { saga, sent, documentStore, context } = harness();
    await documentStore.write([
      {
        op: "replace",
        collection: PAYMENT_PLANS,
        id: "evt-5:end",
        document: {
          eventId: "evt-5",
          correlationId: "corr-1",
          attempt: 0,
          nextAttemptAt: "2026-11-25T03:30:01.000Z",
          done: [],
          kind: "end",
          end: { because: "check-out", overstayCharge: 1500 },
          endedAt: "2026-11-25T03:30:00.000Z",
          ...ids,
          currency: "",
        },
      },
    ]);
    await saga.tick?.run(context);
    expect(sent).toEqual([{ command: settle, causationId: "evt-5" }]);
    expect(await documentStore.find(PAYMENT_PLANS, {})).toEqual([]);
  });

  it("a void plan an older version queued is carried out as its booking's end (the void decided on the stream), then taken off", async () => {
    const { saga, sent, documentStore, context } = harness();
    const plan = {
      eventId: "evt-6",
      correlationId: "corr-1",
      attempt: 0,
      nextAttemptAt: "2026-11-25T03:30:01.000Z",
    };
    await documentStore.write([
      {
        op: "replace",
        collection: PAYMENT_PLANS,
        id: "evt-6",
        document: { ...plan, kind: "void", ...ids, currency: "" },
      },
    ]);
    await saga.tick?.run(context);
    expect(sent).toEqual([
      {
        command: {
          type: "SettleBooking",
          ...ids,
          end: { because: "operator-cancel" },
          now: "2026-11-25T03:31:00.000Z",
          endedBy: "evt-6",
        },
        causationId: "evt-6",
      },
    ]);
    expect(await documentStore.find(PAYMENT_PLANS, {})).toEqual([]);
  });

  it("a failure other than an outage leaves the end on its booking's due entry for the clock work; an outage retries the batch", async () => {
    const failing = harness(new Error("conflict after every retry"));
    const ops = (await failing.saga.react([checkedOut], failing.context)) ?? [];
    // Issue 68 item 4: no plan: the end waits on its booking's due entry.
    expect(ops.filter((op) => op.collection === PAYMENT_PLANS)).toEqual([]);
    expect(ops.filter((op) => op.collection === PAYMENT_DUE)).toMatchObject([
      { id: "r-1", update: { $set: { end: { eventId: "evt-5", end: settle.end } } } },
    ]);
    const out = harness(new EventStoreUnavailableError("down"));
    await expect(out.saga.react([checkedOut], out.context)).rejects.toBeInstanceOf(
      EventStoreUnavailableError,
    );
  });
});

/*
 * Issue 68 item 4: an erased customer's provider customer is no plan: the saga marks its
 * `payment_customers` document (`forgetAt`) as it follows CustomerErased, and its clock work
 * deletes it at the provider, then the document; the provider out, it is tried again later.
 */
describe("an erased customer's provider customer, forgotten by the payments process manager", () => {
  const erased: StoredDomainEvent = {
    event: {
      type: "CustomerErased",
      data: {
        subject: "pseudo-1",
        reservationIds: [],
        parkingLotIds: [],
        erasedAt: "2026-11-25T03:30:00.000Z",
      },
    },
    id: "evt-9",
    streamId: "customer-pseudo-1",
    revision: 0,
    position: { commit: 9, prepare: 9 },
    metadata: { correlationId: "corr-9", causationId: "cause", schemaVersion: CURRENT_SCHEMA_VERSION },
    createdAt: new Date(0),
  };
  const harness = (answers: ("ok" | "out")[]) => {
    const deleted: string[] = [];
    const saga = paymentSaga({
      provider: {
        deleteCustomer: async (customerId: string) => {
          deleted.push(customerId);
          return answers.shift() === "out"
            ? { ok: false, kind: "retryable", message: "down" }
            : { ok: true, value: undefined };
        },
      } as never,
      send: async () => ({ ok: true, recorded: false }),
      lotState: async () => {
        throw new Error("not read");
      },
    });
    const documentStore = new MemoryDocumentStore();
    const logger = { debug() {}, info() {}, warn() {}, error() {} } as never;
    const eventStore = { readAll: async function* () {} };
    const clock = { at: Date.now() };
    const context = { documentStore, eventStore, logger, now: () => clock.at } as never;
    return { saga, deleted, documentStore, context, clock };
  };

  it("marks the document as it follows the erasure; the clock work deletes the customer at the provider, then it", async () => {
    const { saga, deleted, documentStore, context, clock } = harness(["out", "ok"]);
    await documentStore.write([
      { op: "replace", collection: PAYMENT_CUSTOMERS, id: "pseudo-1", document: { customerId: "cus_1" } },
      { op: "replace", collection: PAYMENT_CUSTOMERS, id: "pseudo-2", document: { customerId: "cus_2" } },
    ]);
    await documentStore.write((await saga.react([erased], context)) ?? []);
    expect(await documentStore.find(PAYMENT_PLANS, {})).toEqual([]);
    expect(await documentStore.findById(PAYMENT_CUSTOMERS, "pseudo-1")).toMatchObject({ attempt: 0 });
    // The provider out: the document stays, tried again after its backoff.
    await saga.tick?.run(context);
    expect(deleted).toEqual(["cus_1"]);
    expect(await documentStore.findById(PAYMENT_CUSTOMERS, "pseudo-1")).toMatchObject({ attempt: 1 });
    clock.at += 60_000; // the service's clock past the backoff
    await saga.tick?.run(context);
    expect(deleted).toEqual(["cus_1", "cus_1"]);
    expect(await documentStore.findById(PAYMENT_CUSTOMERS, "pseudo-1")).toBeNull();
    // Another customer's is untouched.
    expect(await documentStore.findById(PAYMENT_CUSTOMERS, "pseudo-2")).toMatchObject({
      customerId: "cus_2",
    });
  });
});

/** Issue 71: two refused charges of one booking (a lapsed capture, an overstay) each leave an intent for the customer. */
describe("the client secrets kept for a booking", () => {
  it("keeps every one, and the latest for the payment that waits", async () => {
    const store = new MemoryDocumentStore();
    await store.write([keepSecretOp("r-1", "pi_capture_secret_a")]);
    await store.write([keepSecretOp("r-1", "pi_overstay_secret_b")]);
    await store.write([keepSecretOp("r-1", "pi_overstay_secret_b")]); // a step retried
    expect(await store.findById(PAYMENT_CLIENT_SECRETS, "r-1")).toMatchObject({
      clientSecret: "pi_overstay_secret_b",
      clientSecrets: ["pi_capture_secret_a", "pi_overstay_secret_b"],
    });
  });
});
