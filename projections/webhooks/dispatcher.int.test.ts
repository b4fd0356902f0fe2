import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SecretBox } from "../../platform/secret-box.js";
import { type DeliveryDocument, WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES } from "./delivery-queue.js";
import { Dispatcher } from "./dispatcher.js";
import { type EndpointDocument, newSecret, WEBHOOK_ENDPOINTS } from "./endpoints.js";

/**
 * What a failed attempt records of the endpoint's answer (its status and the start of its body, for
 * the operator) never holds the message's personal values: an integrator's error that names the
 * customer or the plate it could not take (found by app/erasure-generated.e2e.test.ts: the attempt
 * kept the id in clear, and no erasure rewrites attempts, so the id outlived the customer's erasure
 * in the read models' file, its backups and GET /webhook-endpoints/{id}/deliveries).
 */
describe("the webhook dispatcher's record of a failed attempt", () => {
  const customerId = "lee.sujin+7@mail.example";
  const carNumber = "12가3456";
  let server: Server;
  let answer = "";
  let url = "";

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(422, { "content-type": "application/json" });
        res.end(answer);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const attemptAfter = async (body: string): Promise<string> => {
    answer = body;
    const store = SqliteDocumentStore.open({ file: ":memory:" });
    const box = new SecretBox("a".repeat(32));
    const endpoint: EndpointDocument = {
      _id: "we_test",
      url,
      eventTypes: ["reservation.reserved"],
      description: "",
      status: "enabled",
      createdAt: new Date(0).toISOString(),
      secrets: [{ sealed: box.seal(newSecret()) }],
    };
    const payload = JSON.stringify({
      type: "reservation.reserved",
      timestamp: new Date(0).toISOString(),
      data: { reservationId: "R1", parkingLotId: "L1", customerId, carNumber },
    });
    const delivery: DeliveryDocument = {
      _id: "we_test:msg_1",
      endpointId: endpoint._id,
      webhookId: "msg_1",
      eventType: "reservation.reserved",
      orderKey: "R1",
      commit: 1,
      prepare: 1,
      payload,
      attempt: 0,
      nextAttemptAt: new Date(0).toISOString(),
    };
    await store.write([
      { op: "replace", collection: WEBHOOK_ENDPOINTS, id: endpoint._id, document: endpoint },
      { op: "replace", collection: WEBHOOK_DELIVERIES, id: delivery._id, document: delivery },
    ]);
    const settings = { box, allowPrivate: true, timeoutMs: 5000, concurrency: 1, retryScale: 1 };
    const dispatcher = new Dispatcher(settings, pino({ level: "silent" }));
    try {
      await dispatcher.round(store, [endpoint]);
      for (let i = 0; i < 200; i++) {
        await sleep(10);
        await dispatcher.round(store, []);
        const [attempt] = await store.find<{ _id: string; error?: string }>(WEBHOOK_ATTEMPTS, {});
        if (attempt) return attempt.error ?? "";
      }
      throw new Error("no attempt recorded");
    } finally {
      await dispatcher.close();
      await store.close();
    }
  };

  it("keeps the answer's start, with the customer's id and plate left out in every form they come back in", async () => {
    // The plate once as JSON's \u escapes write it (a receiver serializing to ASCII).
    const error = await attemptAfter(
      `{"error":"no account for customer ${customerId} (${encodeURIComponent(customerId)})","plate":"12\\uAC003456","also":"${carNumber}"}`,
    );
    expect(error).toMatch(/^HTTP 422: \{"error":"no account for customer /);
    for (const form of [customerId, encodeURIComponent(customerId), carNumber, "3456"])
      expect(error).not.toContain(form);
  });

  it("keeps an answer that names nothing personal as it was", async () => {
    expect(await attemptAfter('{"error":"bad signature"}')).toBe('HTTP 422: {"error":"bad signature"}');
  });
});
