import { randomUUID } from "node:crypto";
import express from "express";
import { rateLimit } from "express-rate-limit";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoRateLimitStore } from "./mongo-rate-limit-store.js";

/**
 * The shared rate-limit counters against a real MongoDB, when MONGODB_URL is set (as the other
 * server suites): two stores stand for two API replicas, and a client spreading its requests over
 * both still gets one quota.
 */
const url = process.env.MONGODB_URL;
const database = process.env.MONGODB_TEST_DATABASE ?? "docstore_contract";

describe.skipIf(url === undefined || url === "")("MongoRateLimitStore (MONGODB_URL)", () => {
  const prefix = `test-${randomUUID()}:`;
  let replicaA: MongoRateLimitStore;
  let replicaB: MongoRateLimitStore;

  beforeAll(async () => {
    replicaA = await MongoRateLimitStore.connect({ url: url ?? "", database, prefix });
    replicaB = await MongoRateLimitStore.connect({ url: url ?? "", database, prefix });
  });
  afterAll(async () => {
    await replicaA.shutdown();
    await replicaB.shutdown();
  });

  const app = (store: MongoRateLimitStore) =>
    express()
      .use(rateLimit({ windowMs: 60_000, limit: 5, store, standardHeaders: "draft-8", legacyHeaders: false }))
      .get("/", (_req, res) => {
        res.json({ ok: true });
      });

  it("counts one client's requests over two replicas against one quota", async () => {
    const apps = [app(replicaA), app(replicaB)];
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await request(apps[i % 2] as express.Express).get("/")).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
  });

  it("starts a new window once the old one has passed, and forgets a reset key", async () => {
    replicaA.init({ windowMs: 200 } as Parameters<MongoRateLimitStore["init"]>[0]);
    const key = `window-${randomUUID()}`;
    expect((await replicaA.increment(key)).totalHits).toBe(1);
    expect((await replicaA.increment(key)).totalHits).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await replicaA.get(key)).toBeUndefined();
    expect((await replicaA.increment(key)).totalHits).toBe(1);
    await replicaA.decrement(key);
    expect((await replicaA.get(key))?.totalHits).toBe(0);
    await replicaA.resetKey(key);
    expect(await replicaA.get(key)).toBeUndefined();
  });
});
