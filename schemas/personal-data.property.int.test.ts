import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { TSchema } from "@sinclair/typebox";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { MemoryDataKeys } from "../platform/data-keys/port.js";
import { SqliteDataKeys } from "../platform/data-keys/sqlite-data-keys.js";
import { validate } from "../platform/validation.js";
import { tempDataDir } from "../test-support/service.js";
import { decodeEvent, encodeEvent } from "./event-codec.js";
import { EventDataSchemas, type EventType } from "./events.js";
import {
  ERASED,
  isSealed,
  PERSONAL_FIELDS,
  SUBJECT_FIELD,
  sealPersonalFields,
  usePersonalDataKeys,
  withPersonalDataKeys,
} from "./personal-data.js";

/**
 * Crypto-shredding at the codec (issue 36): for random histories of bookings and random erasures,
 * the log's and the key store's files on disk (with their -wal) never hold a plate or a customer id,
 * every event read after an erasure shows `erased` for the erased customers only, and what is not
 * personal (reservations, amounts, their count) reads exactly as before.
 */
afterEach(() => usePersonalDataKeys(undefined));

describe("sealing an event's personal fields", () => {
  it("looks its customer's key up once for all of them (a pseudonym's HMAC and a read each, issue 50)", () => {
    const keys = new MemoryDataKeys();
    const lookups = vi.spyOn(keys, "keyFor");
    usePersonalDataKeys(keys);
    const sealed = sealPersonalFields("ParkingReserved", {
      customerId: "CUST1",
      carNumber: "12가3456",
      payment: { method: "card" },
    });
    expect(
      [sealed.customerId, sealed.carNumber, (sealed.payment as { method: unknown }).method].every(isSealed),
    ).toBe(true);
    expect(lookups).toHaveBeenCalledTimes(1);
  });
});

/** A booking as the log holds it: sealed under whichever keys are installed, by a customer or an operator. */
function recordedBooking(customerId: string, byCustomer: boolean, method: string | undefined) {
  const payment = { amount: 5000, currency: "KRW", holdUntil: "2026-11-23T09:15:00.000Z" };
  const encoded = encodeEvent(
    {
      type: "ParkingReserved",
      data: {
        reservationId: "r-1",
        parkingLotId: "lot-1",
        customerId,
        carNumber: "12가3456",
        amount: 5000,
        reservedAt: "2026-11-23T09:00:00.000Z",
        ...(method ? { payment: { ...payment, method } } : {}),
      },
    },
    {
      correlationId: "c",
      causationId: "c",
      actor: byCustomer ? { sub: customerId, role: "customer" } : { sub: "ops-1", role: "operator" },
    },
  );
  const at = { id: "e1", streamId: "parkingLot-lot-1", revision: 0, createdAt: new Date(0) };
  return { ...encoded, ...at, position: { commit: 1, prepare: 1 } } as never;
}

describe("opening an event's personal fields", () => {
  it("looks its key up once per event, whatever it reads: plaintext, `erased` or an unknown key's `erased` (issue 50)", () => {
    const whose = fc.constantFrom("kept", "erased", "unknown key");
    fc.assert(
      fc.property(whose, fc.boolean(), fc.option(fc.constant("pm_card_visa")), (who, byCustomer, method) => {
        const keys = new MemoryDataKeys();
        const elsewhere = new MemoryDataKeys();
        usePersonalDataKeys(keys);
        // Sealed under this store's keys, or under another's that this one does not know.
        const recorded =
          who === "unknown key"
            ? withPersonalDataKeys(elsewhere, () =>
                recordedBooking("cust-1", byCustomer, method ?? undefined),
              )
            : recordedBooking("cust-1", byCustomer, method ?? undefined);
        if (who === "erased") keys.erase("cust-1");
        const lookups = vi.spyOn(keys, "key");
        const { event, metadata } = decodeEvent(recorded);
        const data = event.data as { customerId: string; carNumber: string; payment?: { method?: string } };
        const plain = who === "kept";
        expect(data.customerId).toBe(plain ? "cust-1" : ERASED);
        expect(data.carNumber).toBe(plain ? "12가3456" : ERASED);
        expect(data.payment?.method).toBe(method ? (plain ? method : ERASED) : undefined);
        expect(metadata.actor?.sub).toBe(byCustomer ? (plain ? "cust-1" : ERASED) : "ops-1");
        expect(lookups).toHaveBeenCalledTimes(1);
      }),
      { numRuns: 40 },
    );
  });

  it("looks nothing up for an event without personal data", () => {
    const keys = new MemoryDataKeys();
    usePersonalDataKeys(keys);
    const encoded = encodeEvent(
      {
        type: "ParkingLotRegistered",
        data: { parkingLotId: "lot-1", name: "one", capacity: 3, registeredAt: "2026-11-23T09:00:00.000Z" },
      },
      { correlationId: "c", causationId: "c", actor: { sub: "ops-1", role: "operator" } },
    );
    const at = { id: "e1", streamId: "parkingLot-lot-1", revision: 0, createdAt: new Date(0) };
    const lookups = vi.spyOn(keys, "key");
    const { event } = decodeEvent({ ...encoded, ...at, position: { commit: 1, prepare: 1 } } as never);
    expect(event.data).toMatchObject({ parkingLotId: "lot-1", capacity: 3 });
    expect(lookups).not.toHaveBeenCalled();
  });
});

describe("the personal fields the schemas mark", () => {
  it("are derived from the schemas: the booking's customer and plate, every event's customer", () => {
    expect(PERSONAL_FIELDS.ParkingReserved).toEqual(["customerId", "carNumber", "payment.method"]);
    expect(PERSONAL_FIELDS.CouponIssued).toEqual(["customerId"]);
    expect(PERSONAL_FIELDS.ParkingLotRegistered).toEqual([]);
  });

  it("each accept `erased` and sit in an event that names its customer (whose key seals them)", () => {
    for (const [type, fields] of Object.entries(PERSONAL_FIELDS) as [EventType, readonly string[]][]) {
      const properties = EventDataSchemas[type].properties as unknown as Record<string, TSchema>;
      if (fields.length > 0) expect(Object.keys(properties), type).toContain(SUBJECT_FIELD);
      for (const field of fields) {
        const [outer, inner] = field.split(".") as [string, string | undefined];
        const property = properties[outer] as TSchema;
        const schema =
          inner === undefined ? property : (property.properties as Record<string, TSchema>)[inner];
        expect(() => validate(schema as TSchema, ERASED), `${type}.${field}`).not.toThrow();
      }
    }
  });
});

const hex = fc.stringMatching(/^[0-9a-f]{10}$/);
/** Customers with bookings: distinct ids and plates that occur nowhere else in a log. */
const histories = fc.uniqueArray(hex, { minLength: 6, maxLength: 20 }).chain((tags) =>
  fc.record({
    customers: fc.constant(tags.slice(0, 3).map((t) => `cust-${t}`)),
    bookings: fc.constant(tags.slice(3)),
    owners: fc.array(fc.nat(2), { minLength: tags.length - 3, maxLength: tags.length - 3 }),
    amounts: fc.array(fc.integer({ min: 1, max: 90_000 }), {
      minLength: tags.length - 3,
      maxLength: tags.length - 3,
    }),
    erased: fc.subarray([0, 1, 2], { minLength: 1 }),
  }),
);

const plateOf = (tag: string) => `서울${tag.slice(0, 6)}가`;

/** Every byte of every file under `dir` (the databases with their -wal and -shm). */
function filesOf(dir: string): Buffer {
  const parts: Buffer[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(at, entry.name));
      else parts.push(readFileSync(join(at, entry.name)));
    }
  };
  walk(dir);
  return Buffer.concat(parts);
}

describe("erasing customers from a log of random bookings", () => {
  it("leaves no erased plate or id on disk or in what is read, and every amount as it was", async () => {
    await fc.assert(
      fc.asyncProperty(histories, async ({ customers, bookings, owners, amounts, erased }) => {
        const data = tempDataDir("parking-shred-");
        const keys = SqliteDataKeys.open(join(data.dir, "keys", "data-keys.sqlite"));
        usePersonalDataKeys(keys);
        const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
        try {
          const events = bookings.map((tag, i) => {
            const customerId = customers[owners[i] ?? 0] as string;
            return encodeEvent(
              {
                type: "ParkingReserved",
                data: {
                  reservationId: `r-${tag}`,
                  parkingLotId: "lot-1",
                  customerId,
                  carNumber: plateOf(tag),
                  amount: amounts[i] ?? 1,
                  reservedAt: "2026-11-23T09:00:00.000Z",
                },
              },
              { correlationId: "c", causationId: "c", actor: { sub: customerId, role: "customer" } },
            );
          });
          await store.appendToStream("parkingLot-lot-1", events, { expectedRevision: "any" });
          const read = async () => {
            const decoded = [];
            for await (const recorded of store.readAll()) decoded.push(decodeEvent(recorded));
            return decoded;
          };
          const before = await read();
          const erasedIds = erased.map((i) => customers[i] as string);
          for (const id of erasedIds) keys.erase(id);
          const after = await read();

          // What is not personal reads exactly as before: the reservations and their amounts.
          const facts = (list: typeof before) =>
            list.map(
              ({ event }) =>
                event.type === "ParkingReserved" && [event.data.reservationId, event.data.amount],
            );
          expect(facts(after)).toEqual(facts(before));
          after.forEach(({ event, metadata }, i) => {
            const was = before[i]?.event.data as { customerId: string; carNumber: string };
            const now = event.data as { customerId: string; carNumber: string };
            const gone = erasedIds.includes(was.customerId);
            expect(now.customerId).toBe(gone ? ERASED : was.customerId);
            expect(now.carNumber).toBe(gone ? ERASED : was.carNumber);
            expect(metadata.actor?.sub).toBe(gone ? ERASED : was.customerId);
          });

          // On disk: the log never held a plate or an id in clear, and the erased keys are gone.
          await store.close();
          keys.close();
          const disk = filesOf(data.dir);
          for (const tag of bookings) expect(disk.includes(Buffer.from(plateOf(tag)))).toBe(false);
          for (const id of customers) expect(disk.includes(Buffer.from(id))).toBe(false);
        } finally {
          await store.close().catch(() => undefined);
          data.remove();
        }
      }),
      { numRuns: 12 },
    );
  });
});

describe("a customer erased already", () => {
  it("stays erased: a stale copy of their data written again is recorded as erased, others are sealed", () => {
    const data = tempDataDir("parking-shred-again-");
    const keys = SqliteDataKeys.open(join(data.dir, "keys", "data-keys.sqlite"));
    usePersonalDataKeys(keys);
    try {
      const booking = (customerId: string) =>
        encodeEvent(
          {
            type: "ReservationCheckedIn",
            data: {
              reservationId: "r-1",
              parkingLotId: "lot-1",
              customerId,
              checkedInAt: "2026-11-23T09:00:00.000Z",
            },
          },
          { correlationId: "c", causationId: "c", actor: { sub: "ops-1", role: "operator" } },
        );
      booking("cust-gone");
      expect(keys.erase("cust-gone")).toBe(1);
      expect((booking("cust-gone").data as { customerId: string }).customerId).toBe(ERASED);
      expect((booking("cust-here").data as { customerId: string }).customerId).toMatch(/^pii1\./);
    } finally {
      keys.close();
      data.remove();
    }
  });
});

describe("a booking's saved payment method (issue 38)", () => {
  it("is sealed one object down, opened on read, and reads `erased` once its customer is erased", () => {
    const data = tempDataDir("parking-shred-method-");
    const keys = SqliteDataKeys.open(join(data.dir, "keys", "data-keys.sqlite"));
    usePersonalDataKeys(keys);
    try {
      const payment = { amount: 5000, currency: "KRW", holdUntil: "2026-11-23T09:15:00.000Z" };
      // Booked by an operator for the customer: sealed under the customer's key all the same.
      const recorded = recordedBooking("cust-pay", false, "pm_card_visa") as { data: unknown };
      const written = recorded.data as { payment: { method: string; amount: number } };
      expect(written.payment.method).toMatch(/^pii1\./);
      expect(written.payment.amount).toBe(5000);
      const read = () => (decodeEvent(recorded as never).event.data as { payment: object }).payment;
      expect(read()).toEqual({ ...payment, method: "pm_card_visa" });
      keys.erase("cust-pay");
      expect(read()).toEqual({ ...payment, method: ERASED });
    } finally {
      keys.close();
      data.remove();
    }
  });
});
