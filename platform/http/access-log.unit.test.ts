import { Writable } from "node:stream";
import express from "express";
import { pino } from "pino";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { accessLog } from "./access-log.js";

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: pino({ level }, sink) };
}

function app(level: string) {
  const { lines, logger } = capture(level);
  const server = express();
  server.use((req, _res, next) => {
    (req as express.Request & { correlationId: string }).correlationId =
      req.get("x-correlation-id") ?? "none";
    next();
  });
  server.use(accessLog(logger, (req) => (req as express.Request & { correlationId: string }).correlationId));
  server.get("/ok", (_req, res) => {
    res.json({ ok: true });
  });
  server.get("/missing", (_req, res) => {
    res.status(404).json({});
  });
  server.get("/broken", (_req, res) => {
    res.status(500).json({});
  });
  server.get("/overloaded", (_req, res) => {
    // What the error handler marks when it answers a 503 the service chose to give.
    res.locals.expectedRefusal = true;
    res.status(503).json({});
  });
  server.get("/healthz", (_req, res) => {
    res.json({});
  });
  return { server, lines };
}

describe("access log", () => {
  it("writes one line per request with method, path (no query), status, duration and correlation id", async () => {
    const { server, lines } = app("info");
    await request(server)
      .get("/ok?customerId=SECRET")
      .set("X-Correlation-Id", "c-1")
      .set("Authorization", "Bearer t");
    await expect.poll(() => lines.length).toBe(1);
    const [line] = lines;
    expect(line).toMatchObject({
      msg: "request completed",
      level: 30,
      correlationId: "c-1",
      req: { method: "GET", path: "/ok" },
      res: { statusCode: 200 },
    });
    expect(typeof line?.responseTime).toBe("number");
    expect(JSON.stringify(line)).not.toMatch(/SECRET|Bearer/);
  });

  it("levels by status: 5xx error (not a refusal the service chose), every other answer info; probes are never logged; warn hides successes", async () => {
    const { server, lines } = app("info");
    for (const path of ["/ok", "/missing", "/broken", "/overloaded", "/healthz"])
      await request(server).get(path);
    await expect.poll(() => lines.length).toBe(4);
    expect(lines.map((l) => [(l.req as { path: string }).path, l.level])).toEqual([
      ["/ok", 30],
      ["/missing", 30],
      ["/broken", 50],
      ["/overloaded", 30],
    ]);
    const quiet = app("warn");
    for (const path of ["/ok", "/missing", "/broken"]) await request(quiet.server).get(path);
    await expect.poll(() => quiet.lines.length).toBe(1);
    expect(quiet.lines[0]?.req).toMatchObject({ path: "/broken" });
  });

  it("a 4xx line carries selected request headers, never Authorization or Cookie", async () => {
    const { server, lines } = app("info");
    await request(server)
      .get("/missing")
      .set("User-Agent", "curl/8.5")
      .set("Authorization", "Bearer SECRET-TOKEN")
      .set("Cookie", "parking_session=SECRET-COOKIE");
    await expect.poll(() => lines.length).toBe(1);
    const refused = lines[0]?.req as { headers?: Record<string, string> } | undefined;
    expect(refused?.headers).toMatchObject({
      "user-agent": "curl/8.5",
    });
    expect(JSON.stringify(lines[0])).not.toMatch(/SECRET|authorization|cookie/i);
    await request(server).get("/ok");
    await expect.poll(() => lines.length).toBe(2);
    const answered = lines[1]?.req as { headers?: unknown } | undefined;
    expect(answered).toBeDefined();
    expect(answered?.headers).toBeUndefined();
  });
});
