import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_HEADER_BYTES } from "../platform/http/limits.js";
import { MAX_BODY_DEPTH } from "../platform/http/middleware.js";
import { ANONYMOUS, customerHeaders, operatorHeaders } from "../test-support/auth.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * The edge of a running service over real HTTP: security headers, caching of personal data,
 * cross-origin access (off unless configured), the slow-client timeouts and the connection cap.
 */

function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** What the server sends until it closes the connection (rejects if it is still open after `timeoutMs`). */
function untilClosed(socket: Socket, timeoutMs: number): Promise<{ text: string }> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`still open after ${timeoutMs} ms`)), timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.once("close", () => {
      clearTimeout(timer);
      resolve({ text });
    });
  });
}

describe("the edge, hardened", () => {
  const data = tempDataDir("parking-edge-");
  let plain: RunningService;
  let configured: RunningService;

  beforeAll(async () => {
    plain = await startTestService(data.dir, {});
    configured = await startTestService(`${data.dir}/configured`, {
      CORS_ORIGINS: "https://app.example.com",
      HTTP_HEADERS_TIMEOUT_MS: "1000",
      HTTP_REQUEST_TIMEOUT_MS: "1500",
      HTTP_MAX_CONNECTIONS: "4",
    });
    expect(
      (await call(plain.url, "POST", "/parking-lots", { parkingLotId: "edge", name: "Edge", capacity: 3 }))
        .status,
    ).toBe(201);
  });
  afterAll(async () => {
    await plain.shutdown("test done", { drain: false });
    await configured.shutdown("test done", { drain: false });
    data.remove();
  });

  it("sends nosniff, no framing, no referrer and a CSP on every answer; personal data is never cached", async () => {
    const customer = await customerHeaders(data.dir, "EDGE-1");
    const publicLot = await call(plain.url, "GET", "/parking-lots/edge", undefined, ANONYMOUS);
    const personal = await call(plain.url, "GET", "/reservations", undefined, customer);
    const problem = await call(plain.url, "GET", "/reservations", undefined, ANONYMOUS);
    for (const response of [publicLot, personal, problem]) {
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("x-frame-options")).toBe("SAMEORIGIN");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(response.headers.get("x-powered-by")).toBeNull();
    }
    expect(personal.status).toBe(200);
    expect(personal.headers.get("cache-control")).toBe("no-store");
    expect(publicLot.headers.get("cache-control")).not.toBe("no-store");
    // A sign-in answer is never cached either, though its caller is not signed in yet.
    const signIn = await call(plain.url, "GET", "/sign-in?token=not-a-token", undefined, ANONYMOUS);
    expect(signIn.status).toBe(401);
    expect(signIn.headers.get("cache-control")).toBe("no-store");
    // The docs page's CSP lets Swagger UI's own scripts run, and nothing from elsewhere.
    const docs = await fetch(`${plain.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-security-policy")).toMatch(/script-src 'self'(;|$)/);
  });

  it("answers no cross-origin request unless the origin is configured", async () => {
    const preflight = (base: string, origin: string) =>
      fetch(`${base}/parking-lots`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
    const byDefault = await preflight(plain.url, "https://app.example.com");
    expect(byDefault.headers.get("access-control-allow-origin")).toBeNull();
    const allowed = await preflight(configured.url, "https://app.example.com");
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(allowed.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(allowed.headers.get("access-control-allow-credentials")).toBeNull();
    const other = await preflight(configured.url, "https://evil.example.com");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const read = await fetch(`${configured.url}/parking-lots`, {
      headers: { origin: "https://app.example.com" },
    });
    expect(read.headers.get("access-control-expose-headers")).toContain("Location");
  });

  it("closes a connection whose headers do not arrive within HTTP_HEADERS_TIMEOUT_MS", async () => {
    const socket = await openSocket(configured.url);
    socket.write("GET /parking-lots HTTP/1.1\r\nHost: test\r\nX-Slow: ");
    // The default (10 s) would still hold it open when this gives up.
    const { text } = await untilClosed(socket, 6_000);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("closes a request whose body does not arrive within HTTP_REQUEST_TIMEOUT_MS", async () => {
    const { authorization } = await operatorHeaders(`${data.dir}/configured`);
    const socket = await openSocket(configured.url);
    socket.write(
      `POST /parking-lots HTTP/1.1\r\nHost: test\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
    );
    const { text } = await untilClosed(socket, 10_000);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("refuses a deeply nested body with a 400 naming the rule, before anything walks it", async () => {
    const customer = await customerHeaders(data.dir, "EDGE-DEEP");
    const bodies = [
      `${"[".repeat(3000)}${"]".repeat(3000)}`,
      `${"[".repeat(4000)}${"]".repeat(4000)}`,
      `{"carNumber":"12가3456","amount":${"[".repeat(3500)}${"]".repeat(3500)}}`,
      `${'{"a":'.repeat(2700)}1${"}".repeat(2700)}`,
    ];
    for (const body of bodies) {
      const answer = await call(plain.url, "POST", "/parking-lots/edge/reservations", body, customer);
      expect(answer.status).toBe(400);
      expect(answer.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({
        type: "/problems/validation",
        detail: expect.stringContaining(`nested deeper than ${MAX_BODY_DEPTH} levels`),
      });
    }
    // The service is unharmed: the same customer books normally.
    const ok = await call(
      plain.url,
      "POST",
      "/parking-lots/edge/reservations",
      { carNumber: "12가3456", amount: 1000 },
      customer,
    );
    expect(ok.status).toBe(201);
  });

  it("answers 431 to headers larger than MAX_HEADER_BYTES (a header bomb), and keeps serving", async () => {
    const socket = await openSocket(plain.url);
    const closed = untilClosed(socket, 5_000);
    socket.write(
      `GET /parking-lots HTTP/1.1\r\nHost: test\r\n${Array.from({ length: 40 }, (_, i) => `X-Bomb-${i}: ${"b".repeat(1000)}\r\n`).join("")}\r\n`,
    );
    const { text } = await closed;
    expect(text).toMatch(/^HTTP\/1\.1 431 /);
    const oneBigHeader = await openSocket(plain.url);
    const closedToo = untilClosed(oneBigHeader, 5_000);
    oneBigHeader.write(
      `GET /healthz HTTP/1.1\r\nHost: test\r\nCookie: ${"c".repeat(MAX_HEADER_BYTES)}\r\n\r\n`,
    );
    expect((await closedToo).text).toMatch(/^HTTP\/1\.1 431 /);
    expect((await fetch(`${plain.url}/healthz`)).status).toBe(200);
  });

  it("accepts at most HTTP_MAX_CONNECTIONS connections at once", async () => {
    const held = await Promise.all(Array.from({ length: 4 }, () => openSocket(configured.url)));
    try {
      const extra = await openSocket(configured.url);
      const { text } = await untilClosed(extra, 5_000);
      expect(text).toBe("");
      // Once one closes, a new connection is served again.
      const closed = new Promise((resolve) => held[0]?.once("close", resolve));
      held[0]?.destroy();
      await closed;
      await new Promise((resolve) => setTimeout(resolve, 100));
      const again = await fetch(`${configured.url}/healthz`);
      expect(again.status).toBe(200);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });
});
