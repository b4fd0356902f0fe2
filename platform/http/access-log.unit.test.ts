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
  server.get("/healthz", (_req, res) => {
    res.json({});
  });
  return { server, lines };
}

describe("access log", () => {
  it("writes one line per request with method, path (no query), status, duration and correlation id", async () => {
    const { server, lines } = app("debug");
    await request(server)
      .get("/ok?customerId=SECRET")
      .set("X-Correlation-Id", "c-1")
      .set("Authorization", "Bearer t");
    await expect.poll(() => lines.length).toBe(1);
    const [line] = lines;
    expect(line).toMatchObject({
      msg: "request completed",
      level: 20,
      correlationId: "c-1",
      req: { method: "GET", path: "/ok" },
      res: { statusCode: 200 },
    });
    expect(typeof line?.responseTime).toBe("number");
    expect(JSON.stringify(line)).not.toMatch(/SECRET|Bearer/);
  });

  it("levels by status: 5xx error, 4xx info, others debug (so info hides successes); probes are never logged", async () => {
    const { server, lines } = app("info");
    for (const path of ["/ok", "/missing", "/broken", "/healthz"]) await request(server).get(path);
    await expect.poll(() => lines.length).toBe(2);
    expect(lines.map((l) => [(l.req as { path: string }).path, l.level])).toEqual([
      ["/missing", 30],
      ["/broken", 50],
    ]);
  });
});
