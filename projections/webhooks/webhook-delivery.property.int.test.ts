import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../../platform/logger.js";
import { SecretBox } from "../../platform/secret-box.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { replayOf } from "../../test-support/fc-replay.js";
import { tempDataDir } from "../../test-support/service.js";
import { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { couponPolicy } from "../coupon-policy/coupon-policy.js";
import { ProcessorRuntime } from "../runtime/processor-runtime.js";
import { type DeliveryDocument, WEBHOOK_DELIVERIES } from "./delivery-queue.js";
import { webhookDelivery } from "./delivery-reactor.js";
import { type EndpointDocument, WebhookEndpoints } from "./endpoints.js";

/*
 * Webhook delivery hunted with generated histories: facts of several reservations on two lots
 * (bookings, check-ins and -outs, cancels, and the coupons the policy issues and revokes), endpoints
 * registered (some at the very moment a fact is recorded) and deleted mid-stream, each answering a
 * generated script (5xx, 410 Gone, a timeout, a reset connection, slow but in time, then 200), and
 * the delivering runtime restarted between facts. The oracle is the spec's, checked by a receiver
 * written here (its own HMAC, not the library's):
 * - every message verifies per Standard Webhooks (`v1,` base64 HMAC-SHA256 of id.timestamp.body
 *   under the `whsec_` secret's bytes); a redelivery keeps its `webhook-id` and its body;
 * - an endpoint gets every fact of its types recorded after its creation and nothing else (none
 *   before it, none of another type), until it is deleted or answers 410;
 * - per reservation, the first arrivals are in log order.
 */

const RUNS = Number(process.env.WEBHOOK_RUNS ?? 6);
const TIMEOUT_MS = 150;
const LOTS = ["L1", "L2"] as const;
const IDS = ["r1", "r2", "r3", "r4"] as const;
const TYPES = [
  "reservation.reserved",
  "reservation.canceled",
  "reservation.checked_in",
  "reservation.checked_out",
  "coupon.issued",
  "coupon.revoked",
] as const;
type HookType = (typeof TYPES)[number];

/** The spec's table (docs/operations.md, "Messages"): which fact is heard as which message type. */
const HEARD: Record<string, HookType> = {
  ParkingReserved: "reservation.reserved",
  ReservationCanceled: "reservation.canceled",
  ReservationCheckedIn: "reservation.checked_in",
  ReservationCheckedOut: "reservation.checked_out",
  CouponIssued: "coupon.issued",
  CouponRevoked: "coupon.revoked",
};

type Answer = { status: number; delayMs: number } | { reset: true };
const answerArb: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(500, 502, 503, 404).map((status) => ({ status, delayMs: 0 })) },
  { weight: 1, arbitrary: fc.constant({ status: 200, delayMs: TIMEOUT_MS * 2 }) }, // timed out
  { weight: 1, arbitrary: fc.constant({ status: 200, delayMs: TIMEOUT_MS / 3 }) }, // slow, in time
  { weight: 1, arbitrary: fc.constant({ reset: true as const }) }, // the connection dropped
  { weight: 1, arbitrary: fc.constant({ status: 410, delayMs: 0 }) },
);

type Step =
  | { kind: "book"; lot: number; id: string; who: number }
  | { kind: "checkIn" | "checkOut" | "cancel"; id: string }
  | { kind: "register"; types: HookType[]; script: Answer[]; alongside: boolean }
  | { kind: "delete"; which: number }
  | { kind: "restart" }
  | { kind: "pause"; ms: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("book" as const),
      lot: fc.integer({ min: 0, max: 1 }),
      id: fc.constantFrom(...IDS),
      who: fc.integer({ min: 0, max: 2 }),
    }),
  },
  ...(["checkIn", "checkOut", "cancel"] as const).map((kind) => ({
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant(kind), id: fc.constantFrom(...IDS) }),
  })),
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("register" as const),
      types: fc.subarray([...TYPES], { minLength: 1 }),
      script: fc.array(answerArb, { maxLength: 3 }),
      alongside: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), which: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "restart" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("pause" as const), ms: fc.integer({ min: 0, max: 60 }) }),
  },
);

interface Receipt {
  readonly endpoint: string;
  readonly id: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly body: string;
  readonly answered: number | "reset";
}

/** Verifies a message as the Standard Webhooks spec says, with no library. */
function verifies(secret: string, r: Receipt): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${r.id}.${r.timestamp}.${r.body}`).digest();
  return r.signature.split(" ").some((part) => {
    const [version, value] = part.split(",");
    if (version !== "v1" || !value) return false;
    const got = Buffer.from(value, "base64");
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

/** A receiver serving every endpoint of a run: each answers its script, then 200. */
async function receiver() {
  const scripts = new Map<string, Answer[]>();
  const receipts: Receipt[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const name = (req.url ?? "").replace(/^\/hooks\//, "");
      const next = scripts.get(name)?.shift() ?? { status: 200, delayMs: 0 };
      receipts.push({
        endpoint: name,
        id: String(req.headers["webhook-id"]),
        timestamp: String(req.headers["webhook-timestamp"]),
        signature: String(req.headers["webhook-signature"]),
        body: Buffer.concat(chunks).toString("utf8"),
        answered: "reset" in next ? "reset" : next.status,
      });
      if ("reset" in next) {
        req.socket.destroy();
        return;
      }
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(next.status).end("ok");
      }, next.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (name: string) => `http://127.0.0.1:${port}/hooks/${name}`,
    scripts,
    receipts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("webhook delivery against the spec", { timeout: 600_000 }, () => {
  const data = tempDataDir("webhook-delivery-");
  let run = 0;
  afterAll(() => data.remove());

  it("delivers each fact once verified, in order per reservation, to the endpoints that hear it", async () => {
    const logger = createLogger("silent");
    const box = new SecretBox("a webhook test key of at least 32 characters");
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 8, maxLength: 30 }), async (steps) => {
        const events = SqliteEventStore.open({ file: join(data.dir, `events-${run++}.sqlite`) });
        const docs = SqliteDocumentStore.open({ file: ":memory:" });
        const hooks = await receiver();
        const endpoints = new WebhookEndpoints(docs, box);
        const handler = new ParkingLotCommandHandler(events, { retryLimit: 5, cacheSize: 4 });
        const settings = {
          box,
          allowPrivate: true,
          timeoutMs: TIMEOUT_MS,
          concurrency: 2,
          retryScale: 0.0004,
        };
        const runtimeOf = () =>
          new ProcessorRuntime({
            processors: [couponPolicy, webhookDelivery(settings)],
            eventStore: events,
            documentStore: docs,
            logger,
            batchSize: 20,
            generation: "active",
          });
        let runtime = runtimeOf();
        await runtime.start();
        const registered: {
          doc: EndpointDocument;
          secret: string;
          name: string;
          deletedAt?: number;
        }[] = [];
        const booked = new Map<string, string>();
        let n = 0;
        let names = 0;
        const send = async (command: Record<string, unknown>) => {
          await handler.handle(
            { ...command, now: new Date().toISOString() } as unknown as ParkingLotCommand,
            {
              correlationId: `c${n}`,
              commandId: `cmd${n++}`,
              actor: { sub: "ops", role: "operator" },
            },
          );
        };
        try {
          for (const lot of LOTS)
            await send({ type: "RegisterParkingLot", parkingLotId: lot, name: "강남", capacity: 10 });
          let alongside: Promise<void> | undefined;
          for (const step of steps) {
            switch (step.kind) {
              case "book": {
                if (booked.has(step.id)) break;
                const parkingLotId = LOTS[step.lot] as string;
                booked.set(step.id, parkingLotId);
                await send({
                  type: "ReserveParking",
                  parkingLotId,
                  reservationId: step.id,
                  customerId: `C${step.who}`,
                  carNumber: "10더8612",
                  amount: 1000,
                });
                break;
              }
              case "checkIn":
              case "checkOut":
              case "cancel": {
                const parkingLotId = booked.get(step.id);
                if (!parkingLotId) break;
                const type = { checkIn: "CheckIn", checkOut: "CheckOut", cancel: "CancelReservation" }[
                  step.kind
                ];
                await send({
                  type,
                  parkingLotId,
                  reservationId: step.id,
                  ...(step.kind === "cancel" ? { reason: "plans changed" } : {}),
                });
                break;
              }
              case "register": {
                const name = `e${names++}`;
                hooks.scripts.set(name, [...step.script]);
                const creating = endpoints
                  .create({ url: hooks.url(name), eventTypes: step.types }, new Date())
                  .then(({ doc, secret }) => {
                    registered.push({ doc, secret, name });
                  });
                // At the very moment a fact is recorded: the next step runs beside it.
                if (step.alongside) alongside = creating;
                else await creating;
                break;
              }
              case "delete": {
                const endpoint = registered[step.which % Math.max(1, registered.length)];
                if (!endpoint || endpoint.deletedAt !== undefined) break;
                await endpoints.delete(endpoint.doc._id);
                endpoint.deletedAt = Date.now();
                break;
              }
              case "restart":
                await runtime.stop();
                runtime = runtimeOf();
                await runtime.start();
                break;
              case "pause":
                await sleep(step.ms);
                break;
            }
            if (step.kind !== "register" && alongside) {
              await alongside;
              alongside = undefined;
            }
          }
          await alongside;

          // Everything queued for a live endpoint is sent (its retries are short here).
          const deadline = Date.now() + 30_000;
          for (;;) {
            const live = await docs.find<EndpointDocument>("webhook_endpoints", { status: "enabled" });
            const queued = await docs.find<DeliveryDocument>(WEBHOOK_DELIVERIES, {
              endpointId: { $in: live.map((e) => e._id) },
            });
            let head: string | undefined;
            for await (const e of events.readAll({ direction: "backwards", maxCount: 1 })) head = e.id;
            const caughtUp = runtime.status().every((s) => s.caughtUp);
            if (queued.length === 0 && caughtUp && head) {
              await sleep(100);
              const again = await docs.find<DeliveryDocument>(WEBHOOK_DELIVERIES, {
                endpointId: { $in: live.map((e) => e._id) },
              });
              if (again.length === 0) break;
            }
            if (Date.now() > deadline) throw new Error(`still queued: ${queued.length}`);
            await sleep(50);
          }

          // The spec's expectation, from the log.
          const log: { id: string; type: string; createdAt: number; reservationId: string }[] = [];
          for await (const e of events.readAll()) {
            const data = e.data as { reservationId?: string; payment?: unknown };
            if (HEARD[e.type] && data.reservationId)
              log.push({
                id: e.id,
                type: e.type,
                createdAt: e.createdAt.getTime(),
                reservationId: data.reservationId,
              });
          }
          const final = new Map(
            (await docs.find<EndpointDocument>("webhook_endpoints", {})).map((d) => [d._id, d]),
          );
          for (const endpoint of registered) {
            const got = hooks.receipts.filter((r) => r.endpoint === endpoint.name);
            const where = `${endpoint.name} ${JSON.stringify(endpoint.doc.eventTypes)}`;
            for (const r of got) expect(verifies(endpoint.secret, r), `signature ${where}`).toBe(true);
            // A redelivery keeps its id and its body.
            const bodies = new Map<string, string>();
            for (const r of got) {
              const before = bodies.get(r.id);
              if (before !== undefined) expect(r.body, `redelivery of ${r.id}`).toBe(before);
              bodies.set(r.id, r.body);
            }
            const created = Date.parse(endpoint.doc.createdAt);
            const wanted = log.filter(
              (e) => created <= e.createdAt && endpoint.doc.eventTypes.includes(HEARD[e.type] as HookType),
            );
            const wantedIds = new Set(wanted.map((e) => `msg_${e.id}`));
            const firstArrivals = [...new Set(got.map((r) => r.id))];
            // Nothing it does not hear: no fact before it, none of another type.
            for (const id of firstArrivals) expect(wantedIds.has(id), `${id} sent to ${where}`).toBe(true);
            // Per reservation, first arrivals in log order.
            const logOrder = new Map(wanted.map((e, i) => [`msg_${e.id}`, i]));
            const byReservation = new Map<string, number[]>();
            for (const id of firstArrivals) {
              const event = wanted.find((e) => `msg_${e.id}` === id);
              if (!event) continue;
              const list = byReservation.get(event.reservationId) ?? [];
              list.push(logOrder.get(id) ?? -1);
              byReservation.set(event.reservationId, list);
            }
            for (const [reservation, order] of byReservation)
              expect(order, `order of ${reservation} at ${where}`).toEqual([...order].sort((a, b) => a - b));
            // Everything it hears, while it lives and is enabled (a 410 disables it).
            const doc = final.get(endpoint.doc._id);
            if (endpoint.deletedAt === undefined && doc?.status === "enabled") {
              const delivered = new Set(got.filter((r) => r.answered === 200).map((r) => r.id));
              const missing = [...wantedIds].filter((id) => !delivered.has(id));
              expect(missing, `lost at ${where}`).toEqual([]);
            }
          }
        } finally {
          await runtime.stop();
          await hooks.close();
          await events.close();
          await docs.close();
        }
      }),
      {
        numRuns: RUNS,
        ...replayOf("WEBHOOK"),
      },
    );
  });
});
