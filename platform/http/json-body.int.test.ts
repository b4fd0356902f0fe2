import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type RequestHandler } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../logger.js";
import { jsonBodies } from "./json-body.js";
import { errorHandler, rawBodyOf, verifyUtf8Body } from "./middleware.js";

const LIMIT = 64;
const bodyParser = express.json({
  limit: LIMIT,
  strict: true,
  type: ["application/json"],
  verify: verifyUtf8Body,
});
const silent = { warn: () => {}, error: () => {} } as unknown as Logger;

/** A server answering what its body reader made of each request: the body and the raw bytes kept, or the problem. */
function serve(reader: RequestHandler, counted: { fallbacks: number }): Server {
  const app = express();
  app.post("/", reader, (req, res) => {
    res.json({
      body: req.body,
      raw: rawBodyOf(req)?.toString("base64") ?? null,
      fallbacks: counted.fallbacks,
    });
  });
  app.use(errorHandler(silent));
  return createServer(app);
}

const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );

describe("jsonBodies: the common JSON body read directly, answered as the body parser answers it", () => {
  const direct = { fallbacks: 0 };
  const parserOnly = { fallbacks: 0 };
  const servers: Server[] = [];
  let directUrl = "";
  let parserUrl = "";
  beforeAll(async () => {
    const counting: RequestHandler = (req, res, next) => {
      direct.fallbacks++;
      bodyParser(req, res, next);
    };
    servers.push(serve(jsonBodies(LIMIT, counting), direct), serve(bodyParser, parserOnly));
    [directUrl = "", parserUrl = ""] = await Promise.all(servers.map(listen));
  });
  afterAll(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

  const send = async (url: string, body: Uint8Array | string, headers: Record<string, string>) => {
    const res = await fetch(url, { method: "POST", body, headers });
    const answer = (await res.json()) as Record<string, unknown>;
    return { status: res.status, type: res.headers.get("content-type"), answer };
  };
  /** The direct reader's answer to a request, and whether the body parser read it instead. */
  async function both(body: Uint8Array | string, headers: Record<string, string>) {
    const before = direct.fallbacks;
    const mine = await send(directUrl, body, headers);
    const theirs = await send(parserUrl, body, headers);
    const { fallbacks: _a, ...mineAnswer } = mine.answer;
    const { fallbacks: _b, ...theirAnswer } = theirs.answer;
    return {
      mine: { ...mine, answer: mineAnswer },
      theirs: { ...theirs, answer: theirAnswer },
      fellBack: direct.fallbacks > before,
    };
  }
  const json = { "content-type": "application/json" };

  it.each([
    ["an object", '{"capacity":3,"name":"강남"}', json],
    ["an array", "[1,2]", json],
    ["an object after whitespace", ' \n\t{"a":1}', json],
    ["a byte-order mark first", '\uFEFF{"a":1}', json],
    ["charset=utf-8", '{"a":1}', { "content-type": "application/json; charset=UTF-8" }],
    ["a bare number (valid JSON, not an object)", "12", json],
    ["a bare string", '"x"', json],
    ["malformed JSON", '{"a":', json],
    ["only whitespace", "   ", json],
  ])("%s: read directly, the same answer", async (_name, body, headers) => {
    const { mine, theirs, fellBack } = await both(body, headers);
    expect(fellBack).toBe(false);
    expect(mine).toEqual(theirs);
  });

  it("bytes that are not UTF-8: read directly, the same 400 malformed-json", async () => {
    const { mine, theirs, fellBack } = await both(
      new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
      json,
    );
    expect(fellBack).toBe(false);
    expect(mine).toEqual(theirs);
    expect(mine.answer).toMatchObject({ type: expect.stringContaining("malformed-json") });
  });

  it.each([
    ["too large", "x".repeat(LIMIT), json],
    ["another charset", '{"a":1}', { "content-type": "application/json; charset=latin1" }],
    ["another type", '{"a":1}', { "content-type": "text/plain" }],
    ["compressed (a bogus encoding)", '{"a":1}', { ...json, "content-encoding": "gzip" }],
  ])("%s: left to the body parser, which answers", async (_name, body, headers) => {
    const { mine, theirs, fellBack } = await both(
      typeof body === "string" && body.startsWith("x") ? `{"a":"${body}"}` : body,
      headers,
    );
    expect(fellBack).toBe(true);
    expect(mine).toEqual(theirs);
  });
});
