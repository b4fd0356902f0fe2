import { request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import express from "express";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Metrics } from "../metrics.js";
import { errorHandler } from "./middleware.js";
import { inflightLimit } from "./overload.js";

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One request on its own connection (no agent), abortable by destroying it. */
function send(port: number, path: string): { reply: Promise<Reply>; abort: () => void } {
  const req = httpRequest({ host: "127.0.0.1", port, path, method: "POST", agent: false });
  const reply = new Promise<Reply>((resolve, reject) => {
    req.once("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.once("error", reject);
    });
    req.once("error", reject);
  });
  req.end();
  return { reply, abort: () => req.destroy() };
}

/** Fails instead of hanging when a reply that must come at once does not come. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    sleep(ms).then(() => {
      throw new Error(`${what}: no reply within ${ms} ms`);
    }),
  ]);
}

async function gaugeValue(metrics: Metrics): Promise<number> {
  return (await metrics.commandsInFlight.get()).values[0]?.value ?? 0;
}

describe("inflightLimit(2)", () => {
  let server: Server;
  let port: number;
  let metrics: Metrics;
  /** Handlers of /block requests that have started, waiting to be released. */
  let blocked: Array<() => void>;
  let started: Array<() => void>;

  const whenBlocked = (count: number) =>
    within(
      (async () => {
        while (blocked.length < count) await new Promise<void>((resolve) => started.push(resolve));
      })(),
      5_000,
      `${count} blocked handlers`,
    );

  beforeEach(async () => {
    blocked = [];
    started = [];
    metrics = new Metrics({ defaultMetrics: false });
    const app = express();
    app.use(inflightLimit(2, metrics));
    app.post("/block", async (_req, res) => {
      await new Promise<void>((resolve) => {
        blocked.push(resolve);
        for (const wake of started.splice(0)) wake();
      });
      res.json({ ok: true });
    });
    app.post("/fast", (_req, res) => {
      res.json({ ok: true });
    });
    app.use(errorHandler(pino({ level: "silent" })));
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    for (const release of blocked) release();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("answers the third concurrent request 503 problem+json with Retry-After at once, while the first two are still running", async () => {
    const first = send(port, "/block");
    const second = send(port, "/block");
    await whenBlocked(2);
    expect(await gaugeValue(metrics)).toBe(2);

    // The first two are parked until released below: this reply can only come if it was not queued.
    const third = await within(send(port, "/fast").reply, 5_000, "third request");
    expect(third.status).toBe(503);
    expect(third.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(Number(third.headers["retry-after"])).toBeGreaterThan(0);
    expect(JSON.parse(third.body)).toMatchObject({ type: "/problems/overloaded", status: 503 });
    expect(blocked).toHaveLength(2);
    expect((await metrics.overloadRejections.get()).values[0]?.value).toBe(1);

    for (const release of blocked.splice(0)) release();
    expect((await first.reply).status).toBe(200);
    expect((await second.reply).status).toBe(200);

    // Capacity is back: two at a time pass again, and the one after them is refused again.
    const results = await Promise.all([send(port, "/fast").reply, send(port, "/fast").reply]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(await gaugeValue(metrics)).toBe(0);
    const again = [send(port, "/block"), send(port, "/block")];
    await whenBlocked(2);
    expect((await within(send(port, "/fast").reply, 5_000, "request over the bound")).status).toBe(503);
    for (const release of blocked.splice(0)) release();
    expect((await Promise.all(again.map((r) => r.reply))).map((r) => r.status)).toEqual([200, 200]);
  });

  it("releases the slot of a request whose client aborted, even though its handler has not finished", async () => {
    const first = send(port, "/block");
    const second = send(port, "/block");
    first.reply.catch(() => undefined);
    await whenBlocked(2);
    expect((await send(port, "/fast").reply).status).toBe(503);

    first.abort();
    // The server sees the abort asynchronously: poll (bounded) until a slot is free.
    const deadline = Date.now() + 5_000;
    let status = 503;
    while (status === 503 && Date.now() < deadline) {
      status = (await send(port, "/fast").reply).status;
      if (status === 503) await sleep(20);
    }
    expect(status).toBe(200);
    expect(await gaugeValue(metrics)).toBe(1);

    // Only one slot was freed: the aborted handler is still parked, the second request still holds its slot.
    const held = send(port, "/block");
    await whenBlocked(3);
    expect((await send(port, "/fast").reply).status).toBe(503);
    for (const release of blocked.splice(0)) release();
    expect((await second.reply).status).toBe(200);
    expect((await held.reply).status).toBe(200);
    // Releasing the aborted handler (which then writes to a closed response) frees no slot twice:
    // the bound is still exactly 2.
    await sleep(20);
    expect(await gaugeValue(metrics)).toBe(0);
    const pair = [send(port, "/block"), send(port, "/block")];
    await whenBlocked(2);
    expect((await send(port, "/fast").reply).status).toBe(503);
    for (const release of blocked.splice(0)) release();
    expect((await Promise.all(pair.map((r) => r.reply))).map((r) => r.status)).toEqual([200, 200]);
  });
});
