/**
 * Issue 68 item 4: how long the payments process manager takes to rebuild a lost due index
 * (`rebuildDue`: every payment stream walked once, each folded for its process), on an embedded
 * event store holding N settled-but-not-carried-out payments (3 facts each).
 *
 *   npx tsx bench/payment-due-rebuild.ts [N=5000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryDocumentStore } from "../document-store/memory/memory-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { rebuildDue } from "../projections/payments/payment-due.js";
import { systemActor } from "../schemas/actor.js";
import { encodeEvent } from "../schemas/event-codec.js";
import { paymentStream } from "../write-side/payment/payment.js";
import type { PaymentEvent } from "../write-side/payment/payment-facts.js";

const N = Number(process.argv[2] ?? 5000);
const dir = mkdtempSync(join(tmpdir(), "payment-due-rebuild-"));
const store = SqliteEventStore.open({ file: join(dir, "events.sqlite"), pollIntervalMs: 20 });
const NOW = "2026-12-01T00:00:00.000Z";
const cause = { correlationId: "bench", causationId: "bench", actor: systemActor("payments") };
for (let i = 0; i < N; i++) {
  const ids = { reservationId: `r-${i}`, parkingLotId: "L1", intentId: `pi_${i}` };
  const money = { amount: 5000, currency: "KRW" };
  const events: PaymentEvent[] = [
    { type: "PaymentIntentCreated", data: { ...ids, ...money, createdAt: NOW } },
    { type: "PaymentAuthorized", data: { ...ids, ...money, authorizedAt: NOW } },
    {
      type: "PaymentSettlementDecided",
      data: {
        ...ids,
        currency: "KRW",
        ...{ capture: 3000, release: 2000, offSession: 0, refund: 0 },
        because: "check-out",
        decidedAt: NOW,
      },
    },
  ];
  const encoded = events.map((event) => encodeEvent(event, cause));
  await store.appendToStream(paymentStream(ids.reservationId), encoded, { expectedRevision: "no_stream" });
}
const started = performance.now();
const due = await rebuildDue(store, new MemoryDocumentStore(), NOW);
const ms = Math.round(performance.now() - started);
console.log(
  `${N} payment streams (${3 * N} facts): ${due} bookings due again in ${ms} ms (load ${loadavg()[0]})`,
);
await store.close();
rmSync(dir, { recursive: true, force: true });
