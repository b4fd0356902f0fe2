import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Express } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { directJsonAnswers } from "./json-answers.js";

/** The same routes on an app with express's res.json and on one with the direct one. */
function appWith(direct: boolean): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  if (direct) directJsonAnswers(app);
  const answer = { reservationId: "r-1", name: "강남 <&>", nested: { list: [1, null, "x"] } };
  app.post("/created", (_req, res) => {
    res.setHeader("X-Correlation-Id", "c-1");
    res.status(201).location("/parking-lots/a%20b").json(answer);
  });
  app.post("/problem", (_req, res) => {
    res.status(409).type("application/problem+json").json({ type: "about:blank", status: 409 });
  });
  app.post("/no-content", (_req, res) => {
    res.status(204).json({ ignored: true });
  });
  app.post("/nothing", (_req, res) => {
    res.json(undefined);
  });
  app.get("/read", (_req, res) => {
    res.json(answer);
  });
  return app;
}

const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );

/** Status, headers (but the date) and body of an answer, as sent. */
async function answerOf(url: string, method: string) {
  const res = await fetch(url, { method });
  const headers = Object.fromEntries([...res.headers].filter(([name]) => name !== "date"));
  return { status: res.status, headers, body: await res.text() };
}

describe("directJsonAnswers: a command's JSON answer written directly, byte for byte express's", () => {
  const servers = [createServer(appWith(false)), createServer(appWith(true))];
  let generic = "";
  let direct = "";
  beforeAll(async () => {
    [generic = "", direct = ""] = await Promise.all(servers.map(listen));
  });
  afterAll(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

  it.each([
    ["POST", "/created"],
    ["POST", "/problem"],
    ["POST", "/no-content"],
    ["POST", "/nothing"],
    ["GET", "/read"],
    ["HEAD", "/read"],
  ])("%s %s: the same status, headers and body", async (method, path) => {
    const mine = await answerOf(`${direct}${path}`, method);
    expect(mine).toEqual(await answerOf(`${generic}${path}`, method));
    if (path === "/created") expect(mine.headers["content-type"]).toBe("application/json; charset=utf-8");
  });

  it("refuses an app whose json settings or ETags are on (their answers differ)", () => {
    const app = express();
    expect(() => directJsonAnswers(app)).toThrow(/ETags/);
  });
});
