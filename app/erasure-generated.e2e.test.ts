import { readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { comparePositions } from "../event-store/position.js";
import { PROJECTIONS } from "../projections/read-models/index.js";
import { MIN_GRACE_MS, rebuildProjections } from "../projections/replay.js";
import { WEBHOOK_DELIVERIES } from "../projections/webhooks/delivery-queue.js";
import { plateForm } from "../schemas/plates.js";
import { WEBHOOK_EVENT_TYPES } from "../schemas/webhooks.js";
import { bearer, customerHeaders, mintToken } from "../test-support/auth.js";
import { replayOf } from "../test-support/fc-replay.js";
import { filesOf } from "../test-support/files-under.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";
import { takeBackup } from "./backup/take-backup.js";

/**
 * A defect hunt over erasure (issue 36) with generated histories: customers with e-mail-like ids,
 * Unicode and Latin plates (one plate shared by two customers), bookings across lots whose periods
 * close (LOT_PERIOD_EVENTS=50), gate reads of their
 * plates (reviews included), webhooks queued for them while the endpoint is down (which may echo
 * what it got in its error answer), coupons spent; customers erased on the way (by themselves or
 * an admin), then more bookings, a rebuild of every read model, restarts.
 * The oracle: no erased customer's id or exclusive plate in any file under DATA_DIR, any answer of
 * the read endpoints, any backup taken afterwards, any webhook sent after the erasure; the kept
 * customers read back intact; counts and money as the model says. One history a CI run (about 10 s);
 * ERASURE_RUNS raises the runs, ERASURE_SEED and ERASURE_PATH replay a failure.
 */
const RUNS = Number(process.env.ERASURE_RUNS ?? 1);
const CUSTOMERS = 3;
const LOTS = [
  { capacity: 12, hourlyRate: 1200 },
  { capacity: 10 },
  { capacity: 8, couponRule: { minStayMinutes: 0, discount: { amount: 500 } } },
] as const;
const AMOUNT = 7000;

const hangulPlate = fc
  .tuple(
    fc.integer({ min: 10, max: 99 }),
    fc.integer({ min: 0xac00, max: 0xd7a3 }),
    fc.integer({ min: 1000, max: 9999 }),
  )
  .map(([a, h, b]) => `${a}${String.fromCodePoint(h)}${b}`);
const latinPlate = fc
  .tuple(fc.stringMatching(/^[a-z]{3}$/), fc.integer({ min: 1000, max: 9999 }))
  .map(([l, d]) => `${l}-${d}`);
/** Seven plates (two per customer, one for the filler): no form is another's, nor ends another's. */
const plates = fc.uniqueArray(fc.oneof(hangulPlate, latinPlate), {
  minLength: 7,
  maxLength: 7,
  selector: (p) => plateForm(p).slice(1),
});

const pick = fc.nat(1000);
const op = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("book" as const),
      who: fc.nat(CUSTOMERS - 1),
      plate: fc.nat(1),
      lot: fc.nat(LOTS.length - 1),
      coupon: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("checkIn" as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("checkOut" as const), pick }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("gate" as const),
      who: fc.nat(CUSTOMERS - 1),
      plate: fc.nat(1),
      lot: fc.integer({ min: 1, max: LOTS.length - 1 }),
      exit: fc.boolean(),
      doubtful: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("churn" as const), lot: fc.nat(LOTS.length - 1) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("staff" as const),
      who: fc.nat(CUSTOMERS - 1),
      lot: fc.nat(LOTS.length - 1),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("erase" as const),
      who: fc.nat(CUSTOMERS - 1),
      self: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "rebuild" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "restart" as const }) },
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

const histories = fc.record({
  token: fc.stringMatching(/^[a-z0-9]{10}$/),
  plates,
  shared: fc.boolean(),
  /** What the endpoint answers while down: nothing, the message back, or an error naming its customer. */
  echo: fc.constantFrom("none" as const, "payload" as const, "customer" as const),
  ops: fc.array(op, { minLength: 10, maxLength: 30 }),
  finallyErased: fc.subarray([0, 1, 2], { minLength: 1 }),
});

interface Booking {
  readonly reservationId: string;
  readonly lot: number;
  readonly customer: number | "filler";
  readonly carNumber: string;
  readonly amount: number;
  status: "RESERVED" | "CHECKED_IN" | "COMPLETED" | "CANCELED";
}

/** The byte forms a value may be kept in: as given, its plate form, JSON's \u escapes, a path's. */
function formsOf(value: string, plate: boolean): string[] {
  const forms = new Set([value, encodeURIComponent(value)]);
  if (plate) {
    forms.add(plateForm(value));
    forms.add(plateForm(value).slice(1));
  }
  for (const form of [...forms]) {
    const escaped = [...form]
      .map((c) => (c.charCodeAt(0) > 127 ? `\\u${c.charCodeAt(0).toString(16)}` : c))
      .join("");
    forms.add(escaped);
    forms.add(escaped.toUpperCase().replace(/\\U/g, "\\u"));
  }
  return [...forms];
}

/** A webhook receiver: up, it records each message; down, it answers 500 (echoing what it got, if asked). */
async function startReceiver(echo: "none" | "payload" | "customer") {
  const state = {
    up: true,
    echo,
    received: [] as { body: string; erased: ReadonlySet<number> }[],
    failed: 0,
  };
  let erasedNow = new Set<number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      if (!state.up) {
        state.failed += 1;
        res.writeHead(500, { "content-type": "application/json" });
        const message = JSON.parse(body) as { data?: { customerId?: string } };
        const answers = {
          none: "{}",
          payload: JSON.stringify({ error: "could not take it", got: message }),
          customer: JSON.stringify({ error: `no account for customer ${message.data?.customerId}` }),
        };
        res.end(answers[state.echo]);
        return;
      }
      state.received.push({ body, erased: new Set(erasedNow) });
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    erased: (set: ReadonlySet<number>) => {
      erasedNow = new Set(set);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("erasure over generated histories", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("leaves no erased id or plate anywhere, and everything else as the model says", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(histories, async (history) => {
        run += 1;
        await checkHistory(history, run, cleanups);
      }),
      {
        numRuns: RUNS,
        endOnFailure: true,
        ...replayOf("ERASURE"),
      },
    );
  }, 240_000);
});

type History = typeof histories extends fc.Arbitrary<infer T> ? T : never;

async function checkHistory(h: History, run: number, cleanups: (() => Promise<void> | void)[]) {
  const data = tempDataDir("parking-erase-gen-");
  const receiver = await startReceiver(h.echo);
  const env = {
    LOT_PERIOD_EVENTS: "50",
    WEBHOOK_ALLOW_PRIVATE: "true",
    WEBHOOK_RETRY_SCALE: "0.0002",
  };
  let service = await startTestService(data.dir, env);
  let stopped = false;
  cleanups.push(async () => {
    if (!stopped) await service.shutdown("test done", { drain: false });
    await receiver.close();
    data.remove();
  });
  const customers = Array.from({ length: CUSTOMERS }, (_, k) => `kim.${h.token}+${k}@mail.example`);
  const filler = `filler-${h.token}`;
  const platesOf = (k: number): string[] => {
    const own = [h.plates[2 * k] as string, h.plates[2 * k + 1] as string];
    // Customer 1's second plate is customer 0's first (a family car), when `shared`.
    return k === 1 && h.shared ? [own[0] as string, h.plates[0] as string] : own;
  };
  const fillerPlate = h.plates[6] as string;
  const lotId = (k: number) => `gen-${run}-${k}`;
  const bookings: Booking[] = [];
  const erased = new Set<number>();
  let gateReads = 0;
  const headers = (k: number) => customerHeaders(data.dir, customers[k] as string);

  const settle = async () => {
    const { eventStore, processors } = service.services;
    const head = await eventStore?.headPosition();
    await eventually(
      async () =>
        head === null ||
        head === undefined ||
        (processors?.status() ?? []).every(
          (s) => s.position !== null && comparePositions(s.position, head) >= 0,
        )
          ? true
          : undefined,
      20_000,
      "processors caught up",
    );
  };
  const restart = async () => {
    await service.shutdown("restart", { drain: false });
    stopped = true;
    service = await startTestService(data.dir, env);
    stopped = false;
  };
  const active = (b: Booking) => b.status === "RESERVED" || b.status === "CHECKED_IN";

  for (const [k, terms] of LOTS.entries()) {
    const { couponRule, ...lot } = terms as { capacity: number; hourlyRate?: number; couponRule?: unknown };
    const registered = await call(service.url, "POST", "/parking-lots", {
      parkingLotId: lotId(k),
      name: `생성 ${k}`,
      ...lot,
    });
    expect(registered.status).toBe(201);
    if (couponRule)
      expect(
        (await call(service.url, "PUT", `/parking-lots/${lotId(k)}/coupon-rule`, couponRule)).status,
      ).toBe(200);
  }
  const hook = await call<{ id: string }>(service.url, "POST", "/webhook-endpoints", {
    url: receiver.url,
    eventTypes: WEBHOOK_EVENT_TYPES,
  });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);

  const book = async (who: number | "filler", lot: number, carNumber: string, coupon?: string) => {
    const auth = who === "filler" ? await customerHeaders(data.dir, filler) : await headers(who);
    const priced = "hourlyRate" in (LOTS[lot] as object);
    const answer = await call<{ reservationId: string; amount: number }>(
      service.url,
      "POST",
      `/parking-lots/${lotId(lot)}/reservations`,
      { carNumber, ...(priced ? {} : { amount: AMOUNT }), ...(coupon ? { couponId: coupon } : {}) },
      auth,
    );
    if (who !== "filler" && erased.has(who)) {
      expect(answer.status).toBe(403);
      return;
    }
    const held = bookings.filter((b) => b.lot === lot && active(b));
    if (held.length >= (LOTS[lot] as { capacity: number }).capacity) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(409);
      return;
    }
    if (held.filter((b) => b.customer === who).length >= 4) {
      expect(answer.status).toBe(409);
      return;
    }
    if (coupon && answer.status !== 201) return; // a coupon the reactor has not issued yet, or spent
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    bookings.push({
      reservationId: answer.body.reservationId,
      lot,
      customer: who,
      carNumber,
      amount: answer.body.amount,
      status: "RESERVED",
    });
  };
  const ownedBy = (pickAt: number, ok: (b: Booking) => boolean) => {
    const mine = bookings.filter((b) => b.customer !== "filler" && ok(b));
    return mine.length === 0 ? undefined : mine[pickAt % mine.length];
  };
  const step = async (b: Booking, what: "check-in" | "check-out" | "cancel") => {
    const auth = await headers(b.customer as number);
    const path = `/parking-lots/${lotId(b.lot)}/reservations/${b.reservationId}`;
    const answer =
      what === "cancel"
        ? await call(service.url, "DELETE", path, undefined, auth)
        : await call(service.url, "POST", `${path}/${what}`, undefined, auth);
    if (erased.has(b.customer as number)) {
      expect(answer.status).toBe(403);
      return;
    }
    expect(answer.status, `${what} ${JSON.stringify(answer.body)}`).toBe(200);
    b.status = what === "cancel" ? "CANCELED" : what === "check-in" ? "CHECKED_IN" : "COMPLETED";
  };
  const erase = async (who: number, self: boolean) => {
    // The endpoint down while the customer's last facts are queued for it, and at the erasure.
    receiver.state.up = false;
    const failedBefore = receiver.state.failed;
    const live = ownedBy(0, (b) => b.customer === who && b.status === "RESERVED");
    if (live && !erased.has(who)) {
      await step(live, "cancel");
      await eventually(
        async () => (receiver.state.failed > failedBefore ? true : undefined),
        10_000,
        "a failed attempt",
      );
    }
    const answer = await call(
      service.url,
      "POST",
      `/customers/${encodeURIComponent(customers[who] as string)}/erasure`,
      self ? undefined : { reason: "generated erasure" },
      self ? await headers(who) : {},
    );
    if (self && erased.has(who)) expect(answer.status).toBe(403);
    else {
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      if (!erased.has(who))
        expect(answer.body.erasedReservations).toBe(bookings.filter((b) => b.customer === who).length);
    }
    erased.add(who);
    await settle();
    receiver.erased(erased);
    receiver.state.up = true;
  };
  const run1 = async (o: Op) => {
    switch (o.kind) {
      case "book": {
        const carNumber = platesOf(o.who)[o.plate] as string;
        let coupon: string | undefined;
        if (o.coupon && o.lot === 2 && !erased.has(o.who)) {
          const coupons = await call<{ items: { couponId: string; status: string; spendable?: boolean }[] }>(
            service.url,
            "GET",
            `/customers/${encodeURIComponent(customers[o.who] as string)}/coupons`,
            undefined,
            await headers(o.who),
          );
          coupon = coupons.body.items?.find((c) => c.spendable)?.couponId;
        }
        return book(o.who, o.lot, carNumber, coupon);
      }
      case "cancel": {
        const b = ownedBy(o.pick, (x) => x.status === "RESERVED");
        return b && step(b, "cancel");
      }
      case "checkIn": {
        const b = ownedBy(o.pick, (x) => x.status === "RESERVED");
        return b && step(b, "check-in");
      }
      case "checkOut": {
        const b = ownedBy(o.pick, (x) => x.status === "CHECKED_IN");
        return b && step(b, "check-out");
      }
      case "gate": {
        gateReads += 1;
        const answer = await call<{ decision: string; reason: string; reservationId?: string }>(
          service.url,
          "POST",
          `/parking-lots/${lotId(o.lot)}/gate-events`,
          {
            eventId: `read-${gateReads}`,
            gateId: "north",
            direction: o.exit ? "exit" : "entry",
            plate: platesOf(o.who)[o.plate],
            confidence: o.doubtful ? 0.4 : 0.97,
            at: new Date().toISOString(),
          },
          bearer(await mintToken(data.dir, { sub: "gate-1", role: "gate", lots: [lotId(o.lot)] })),
        );
        expect([200, 201], JSON.stringify(answer.body)).toContain(answer.status);
        const touched = bookings.find((b) => b.reservationId === answer.body.reservationId);
        if (answer.body.decision === "open" && touched)
          touched.status = answer.body.reason === "CheckedOut" ? "COMPLETED" : "CHECKED_IN";
        return;
      }
      case "churn": {
        // The filler books and cancels until the lot's period has closed at least once more.
        for (let i = 0; i < 26; i++) {
          await book("filler", o.lot, fillerPlate);
          const last = bookings.at(-1);
          if (last?.customer !== "filler" || last.status !== "RESERVED") continue;
          const auth = await customerHeaders(data.dir, filler);
          const path = `/parking-lots/${lotId(o.lot)}/reservations/${last.reservationId}`;
          expect((await call(service.url, "DELETE", path, undefined, auth)).status).toBe(200);
          last.status = "CANCELED";
        }
        return;
      }
      case "staff": {
        // An operator books on a customer's behalf (erased or not); with the customer's first plate.
        const priced = "hourlyRate" in (LOTS[o.lot] as object);
        const held = bookings.filter((b) => b.lot === o.lot && active(b));
        const answer = await call<{ reservationId: string; amount: number; customerId: string }>(
          service.url,
          "POST",
          `/parking-lots/${lotId(o.lot)}/reservations`,
          {
            customerId: customers[o.who],
            carNumber: platesOf(o.who)[0],
            ...(priced ? {} : { amount: AMOUNT }),
          },
        );
        const full = held.length >= (LOTS[o.lot] as { capacity: number }).capacity;
        const limit = held.filter((b) => b.customer === o.who).length >= 4;
        if (full || limit) {
          expect(answer.status, JSON.stringify(answer.body)).toBe(409);
          return;
        }
        expect(answer.status, JSON.stringify(answer.body)).toBe(201);
        bookings.push({
          reservationId: answer.body.reservationId,
          lot: o.lot,
          customer: o.who,
          carNumber: platesOf(o.who)[0] as string,
          amount: answer.body.amount,
          status: "RESERVED",
        });
        return;
      }
      case "erase":
        return erase(o.who, o.self);
      case "rebuild": {
        const { eventStore, documentStore, logger } = service.services;
        if (!eventStore || !documentStore) throw new Error("no stores");
        await rebuildProjections({
          eventStore,
          documentStore,
          projections: PROJECTIONS,
          logger,
          graceMs: MIN_GRACE_MS,
        });
        return;
      }
      case "restart":
        return restart();
    }
  };

  for (const o of h.ops) await run1(o);
  const moment = new Date().toISOString();
  for (const who of h.finallyErased) await erase(who, who % 2 === 0);
  // Erasing again is harmless (an admin, with a reason).
  const again = h.finallyErased[0] as number;
  const twice = await call(
    service.url,
    "POST",
    `/customers/${encodeURIComponent(customers[again] as string)}/erasure`,
    {
      reason: "once more",
    },
  );
  expect(twice.status).toBe(200);
  // Then life goes on: the kept customers book, the lots churn, a gate reads an erased plate.
  for (const k of [0, 1, 2])
    if (!erased.has(k)) await run1({ kind: "book", who: k, plate: 1, lot: 1, coupon: false });
  await run1({ kind: "churn", lot: 1 });
  for (const k of erased)
    await run1({ kind: "gate", who: k, plate: 0, lot: 1, exit: false, doubtful: k % 2 === 0 });
  await run1({ kind: "rebuild" });
  await restart();
  await settle();
  // Every queued message has gone out.
  await eventually(
    async () =>
      (await service.services.documentStore?.find(WEBHOOK_DELIVERIES, {}))?.length === 0 ? true : undefined,
    20_000,
    "the webhook outbox drained",
  );

  // What each read endpoint answers now.
  const answers: unknown[] = [];
  const read = async (path: string, auth: Record<string, string> = {}, statuses = [200]) => {
    const answer = await call(service.url, "GET", path, undefined, auth);
    expect(statuses, `${path}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
    answers.push(answer.body);
    return answer.body;
  };
  for (const k of LOTS.keys()) {
    const lot = lotId(k);
    const view = (await read(`/parking-lots/${lot}`)) as {
      activeReservations: number;
      availableSpots: number;
    };
    const held = bookings.filter((b) => b.lot === k && active(b)).length;
    expect(view.activeReservations, `lot ${k} active`).toBe(held);
    await read(`/reservations?parkingLotId=${lot}&limit=100`);
    await read(`/parking-lots/${lot}/gate-reviews?limit=100`);
    await read(`/parking-lots/${lot}/timeline`);
    await read(`/parking-lots/${lot}?asOf=${moment}`);
    await read(`/parking-lots/${lot}/timeline?asOf=${moment}`);
    let cursor: string | undefined;
    do {
      const page = (await read(
        `/parking-lots/${lot}/history?limit=100${cursor ? `&cursor=${cursor}` : ""}`,
      )) as {
        nextCursor?: string;
      };
      cursor = page.nextCursor;
    } while (cursor);
  }
  // The churn closed lot 1's books at least once: its history shows a period's opening.
  expect(JSON.stringify(answers)).toContain("LotPeriodOpened");
  await read("/control-center");
  await read(`/control-center?asOf=${moment}`);
  await read(`/webhook-endpoints/${hook.body.id}/deliveries?limit=100`);
  for (const b of bookings) {
    if (b.customer === "filler") continue;
    const view = (await read(`/reservations/${b.reservationId}`)) as Record<string, unknown>;
    const gone = erased.has(b.customer);
    expect(view.customerId).toBe(gone ? "erased" : customers[b.customer]);
    expect(view.carNumber).toBe(gone ? "erased" : b.carNumber);
    // An open-ended stay on a priced lot is priced at its check-out.
    if (!("hourlyRate" in (LOTS[b.lot] as object) && b.status === "COMPLETED"))
      expect(view.amount).toBe(b.amount);
    await read(`/reservations/${b.reservationId}/history`);
    // Booked after the moment: not there then.
    await read(`/reservations/${b.reservationId}?asOf=${moment}`, {}, [200, 404]);
  }
  for (const k of [0, 1, 2]) {
    for (const plate of platesOf(k)) {
      const found = (await read(
        `/reservations?carNumber=${encodeURIComponent(plateForm(plate).slice(-4))}&limit=100`,
      )) as {
        items: { reservationId: string }[];
      };
      for (const item of found.items) {
        const b = bookings.find((x) => x.reservationId === item.reservationId);
        if (b && b.customer !== "filler")
          expect(erased.has(b.customer), "an erased booking found by its plate").toBe(false);
      }
    }
    if (!erased.has(k)) {
      const coupons = (await read(
        `/customers/${encodeURIComponent(customers[k] as string)}/coupons?limit=100`,
        await headers(k),
      )) as {
        items: unknown[];
      };
      expect(coupons.items.length).toBe(bookings.filter((b) => b.customer === k).length);
    }
  }
  await read(`/customers/${encodeURIComponent(customers[again] as string)}/coupons?limit=100`);

  // The secrets: each erased customer's id, and each plate of theirs no kept customer has.
  const keptPlates = new Set(
    [0, 1, 2].filter((k) => !erased.has(k)).flatMap((k) => platesOf(k).map(plateForm)),
  );
  const secretsOf = (k: number) => [
    ...formsOf(customers[k] as string, false),
    ...platesOf(k)
      .filter((p) => !keptPlates.has(plateForm(p)))
      .flatMap((p) => formsOf(p, true)),
  ];
  const backupFile = join(data.dir, "..", `${data.dir.split("/").at(-1)}.tar.gz`);
  await takeBackup(data.dir, backupFile);
  cleanups.push(() => rmSync(backupFile, { force: true }));
  const stores: Record<string, Buffer> = {
    answers: Buffer.from(JSON.stringify(answers)),
    ...filesOf(data.dir),
    backup: gunzipSync(readFileSync(backupFile)),
  };
  for (const k of erased)
    for (const secret of secretsOf(k)) {
      for (const [where, bytes] of Object.entries(stores))
        expect(bytes.includes(Buffer.from(secret)), `${secret} in ${where}`).toBe(false);
      for (const message of receiver.state.received)
        if (message.erased.has(k))
          expect(message.body.includes(secret), `${secret} sent after its erasure`).toBe(false);
    }
  // The kept customers' ids and plates still read.
  const answered = stores.answers as Buffer;
  for (const k of [0, 1, 2].filter((x) => !erased.has(x)))
    if (bookings.some((b) => b.customer === k))
      expect(answered.includes(Buffer.from(customers[k] as string))).toBe(true);
}
