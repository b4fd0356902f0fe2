import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { webhookKeyOf } from "../../app/auth.js";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { SecretBox } from "../../platform/secret-box.js";
import {
  type Child,
  exitOf,
  killChildren,
  startServiceChild,
  startWebhookReceiver,
  waitHealthy,
} from "../../test-support/children.js";
import { freePort } from "../../test-support/process.js";
import { readAllEvents, seedDataDir } from "../../test-support/seed.js";
import { tempDataDir, testConfig } from "../../test-support/service.js";
import { controlReceiver, receivedIn } from "../../test-support/webhook-records.js";
import { LEASES, type LeaseDocument } from "../runtime/leases.js";
import { WEBHOOK_DELIVERY } from "./delivery-reactor.js";
import { WebhookEndpoints } from "./endpoints.js";
import { MAPPED_EVENT_TYPES } from "./messages.js";

/**
 * Exactly one delivery stream across replicas, and nothing lost to kill -9: two real ROLE=projector
 * processes on one DATA_DIR, the first delivering (it holds the delivery reactor's lease), the
 * second standing by. The first is SIGKILLed mid-stream; the standby takes the lease over and
 * carries on from the durable queue. The receiver process (verifying every message with
 * standardwebhooks) then has every message at least once, each verified, any duplicate under the
 * same `webhook-id`, and each reservation's messages first received in log order.
 */
const PLAN = { lots: 2, capacity: 1000, reservations: 300, cancellations: 50 } as const;
const TYPES = ["reservation.reserved", "reservation.canceled", "coupon.issued", "coupon.revoked"] as const;
const ENV = {
  ROLE: "projector",
  PROJECTION_BATCH_SIZE: "50",
  EMBEDDED_POLL_INTERVAL_MS: "20",
  PROCESSOR_LEASE_TTL_MS: "2000",
  PROCESSOR_LEASE_RENEW_MS: "500",
  WEBHOOK_ALLOW_PRIVATE: "true",
  WEBHOOK_RETRY_SCALE: "0.0002",
};

const ownedBy = (lease: LeaseDocument | null, child: Child) =>
  lease?.owner?.split("/")[1] === String(child.pid);

async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs: number,
  alive: Child[],
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const c of alive)
      if (c.hasExited()) throw new Error(`process exited waiting for ${what}:\n${c.output()}`);
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe("webhook delivery across kill -9 and failover (real processes)", () => {
  const data = tempDataDir("parking-webhook-failover-");
  const record = join(data.dir, "received.jsonl");
  afterEach(async () => {
    await killChildren();
  });
  afterAll(() => data.remove());

  it("SIGKILL the delivering process mid-stream: the standby takes over and every message arrives, verified", async () => {
    const receiver = await startWebhookReceiver(await freePort(), record);
    const docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    try {
      const box = new SecretBox(webhookKeyOf(testConfig(data.dir)));
      const { secret } = await new WebhookEndpoints(docs, box).create(
        { url: `${receiver.url}/hooks/stream`, eventTypes: TYPES },
        new Date(),
      );
      // Slow enough that the stream is still going when the holder is killed, even when the
      // standby takes seconds to start on a loaded machine (at 15 ms it all arrived before).
      await controlReceiver(receiver.url, "stream", { secrets: [secret], delayMs: 40 });
      await sleep(5);
      await seedDataDir(data.dir, PLAN);
      // One message per fact of the log an endpoint hears: the seed's bookings and cancellations,
      // and the coupon policy's facts to come (a coupon per booking, revoked for each cancel).
      const seeded = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
      const expected =
        (await readAllEvents(seeded)).filter((e) => MAPPED_EVENT_TYPES.has(e.type as never)).length +
        PLAN.reservations +
        PLAN.cancellations;
      await seeded.close();

      const first = await startServiceChild({ ...ENV, DATA_DIR: data.dir });
      const lease = () => docs.findById<LeaseDocument>(LEASES, WEBHOOK_DELIVERY);
      await until(async () => ownedBy(await lease(), first), "the first process to hold the lease", 30_000, [
        first,
      ]);
      const second = await waitHealthy(await startServiceChild({ ...ENV, DATA_DIR: data.dir }));
      await until(
        () => receivedIn(record).length >= expected * 0.2,
        "a fifth of the stream delivered",
        60_000,
        [first, second],
      );
      first.signal("SIGKILL");
      expect(await exitOf(first, 10_000)).toBe("SIGKILL");
      const atKill = new Set(receivedIn(record).map((r) => r.webhookId)).size;
      expect(atKill).toBeLessThan(expected);

      await until(async () => ownedBy(await lease(), second), "the standby to take the lease", 30_000, [
        second,
      ]);
      await until(
        () => new Set(receivedIn(record).map((r) => r.webhookId)).size >= expected,
        "every message",
        120_000,
        [second],
      );
      second.signal("SIGTERM");
      expect(await exitOf(second, 30_000)).toBe(0);
    } finally {
      await docs.close();
    }

    const events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    const log = (await readAllEvents(events)).filter((e) => MAPPED_EVENT_TYPES.has(e.type as never));
    await events.close();
    const received = receivedIn(record);
    const ids = new Set(received.map((r) => r.webhookId));
    // Every message of the log, and nothing else; each verified; a duplicate is the same message.
    expect(ids).toEqual(new Set(log.map((e) => `msg_${e.id}`)));
    for (const r of received) expect(r.verified).toEqual([true]);
    const bodies = new Map<string, string>();
    for (const r of received) {
      const body = JSON.stringify({ type: r.type, timestamp: r.timestamp, data: r.data });
      expect(bodies.get(r.webhookId) ?? body).toBe(body);
      bodies.set(r.webhookId, body);
    }
    // Each reservation's messages were first received in the order of its facts.
    const position = new Map(log.map((e) => [`msg_${e.id}`, e.position.commit]));
    const firstSeen = new Map<string, number[]>();
    const seen = new Set<string>();
    for (const r of received) {
      if (seen.has(r.webhookId)) continue;
      seen.add(r.webhookId);
      const key = String(r.data.reservationId);
      firstSeen.set(key, [...(firstSeen.get(key) ?? []), position.get(r.webhookId) ?? -1]);
    }
    for (const [key, positions] of firstSeen)
      expect(positions, key).toEqual([...positions].sort((a, b) => a - b));
  }, 240_000);
});
