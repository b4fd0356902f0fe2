import { spawn } from "node:child_process";
import { Agent, request as httpRequest } from "node:http";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { PROCESSOR_NAMES } from "../projections/processors.js";
import { operatorHeaders } from "../test-support/auth.js";
import { PROJECT_ROOT, SERVICE_ARGS, type ServiceProcess } from "../test-support/process.js";
import { call, eventually, tempDataDir } from "../test-support/service.js";
import { exitWithin, projectionsAtHead, serviceProcesses } from "../test-support/spawned-services.js";

/**
 * Graceful shutdown of the real process (`node dist/app/main.js`, as `npm start` runs it): SIGTERM lets the
 * request in flight finish, refuses new connections, drops idle keep-alive connections, saves the
 * projections' progress and exits 0 by itself.
 */

const SHUTDOWN_TIMEOUT_MS = 10_000;

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const portOf = (service: ServiceProcess) => Number(new URL(service.url).port);

/** A raw TCP connection to the service, to send a request in pieces. */
function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/**
 * Reads one HTTP/1.1 response with a Content-Length from the socket: resolves once the status
 * line, the headers and exactly Content-Length body bytes have arrived; rejects if the socket
 * ends first (a truncated response) or nothing complete arrives within `timeoutMs`.
 */
function readResponse(socket: Socket, timeoutMs = 15_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish(new Error(`no complete response within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (error: Error | null, response?: RawResponse) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", onError);
      if (error) reject(error);
      else resolve(response as RawResponse);
    };
    const tryParse = () => {
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [statusLine = "", ...lines] = buffer.subarray(0, end).toString("latin1").split("\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]);
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers["content-length"]);
      if (!Number.isInteger(length)) {
        finish(new Error(`response without Content-Length: ${statusLine}`));
        return;
      }
      const body = buffer.subarray(end + 4);
      if (body.length >= length)
        finish(null, { status, headers, body: body.subarray(0, length).toString("utf8") });
    };
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      tryParse();
    };
    const onClose = () =>
      finish(
        new Error(`connection closed before a complete response; got ${JSON.stringify(buffer.toString())}`),
      );
    const onError = (error: Error) => finish(error);
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.once("error", onError);
  });
}

/** Resolves once the peer has closed the socket (or it errored); rejects after `timeoutMs`. */
function closedWithin(socket: Socket, timeoutMs: number): Promise<void> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.once("close", done);
    socket.once("end", done);
    socket.once("error", done);
    socket.resume();
  });
}

/** Whether a new TCP connection to the port is refused. */
function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });
}

/** One GET on its own connection (no keep-alive pool), so no idle pooled socket is left behind. */
function getOnce(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port,
      path,
      agent: false,
      headers: { connection: "close" },
    });
    req.once("response", (res) => {
      res.resume();
      res.once("end", () => resolve(res.statusCode ?? 0));
    });
    req.once("error", reject);
    req.end();
  });
}

const RESERVATION = { customerId: "CUST-GRACE", carNumber: "10더8612", amount: 5000 };

/**
 * Sends the request line, the headers (with the full Content-Length) and only the first half of
 * the JSON body of a reservation; returns the rest of the body to send later. Waits until the
 * service has certainly read those bytes: a request on another connection made after them has
 * been answered, so the half-sent request is in flight, not an idle connection.
 */
async function startHalfSentReservation(
  port: number,
  lotId: string,
  correlationId: string,
  auth: { authorization: string },
): Promise<{ socket: Socket; rest: Buffer }> {
  const body = Buffer.from(JSON.stringify(RESERVATION), "utf8");
  const cut = Math.floor(body.length / 2);
  const socket = await openSocket(port);
  socket.write(
    `POST /parking-lots/${lotId}/reservations HTTP/1.1\r\n` +
      `Host: 127.0.0.1:${port}\r\n` +
      "Content-Type: application/json\r\n" +
      `Content-Length: ${body.length}\r\n` +
      `X-Correlation-Id: ${correlationId}\r\n` +
      `Authorization: ${auth.authorization}\r\n` +
      "\r\n",
  );
  socket.write(body.subarray(0, cut));
  await sleep(100);
  expect(await getOnce(port, "/healthz")).toBe(200);
  return { socket, rest: body.subarray(cut) };
}

describe("graceful shutdown of the real process on SIGTERM", () => {
  const processes = serviceProcesses();
  const shared = tempDataDir("parking-graceful-");
  const dirs = [shared];
  let reservationFromA: { reservationId: string; parkingLotId: string } | undefined;
  /** Events in the log before the half-sent reservation of (a); the projections had applied them all. */
  let eventsBeforeShutdown = 0;

  afterEach(async () => {
    await processes.killAll();
  });
  afterAll(() => {
    for (const dir of dirs) dir.remove();
  });

  it("(a) a request whose body is still arriving when SIGTERM comes is answered in full (201), then the process exits 0 by itself", async () => {
    const service = await processes.start({
      DATA_DIR: shared.dir,
      LOG_LEVEL: "info",
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    });
    const port = portOf(service);
    const lot = await call(service.url, "POST", "/parking-lots", {
      parkingLotId: "graceful-1",
      name: "강남 1주차장",
      capacity: 50,
      couponRule: { minStayMinutes: 0 }, // every stay keeps its booking's coupon
    });
    expect(lot.status).toBe(201);
    // Some history first, fully projected, so that (d) can tell resuming from replaying: stays
    // (reserve, check in, check out), each booking with its coupon, kept by its stay.
    for (let i = 0; i < 10; i++) {
      const r = await call<{ reservationId: string }>(
        service.url,
        "POST",
        "/parking-lots/graceful-1/reservations",
        {
          customerId: `WARM${i}`,
          carNumber: `${11 + i}가${1000 + i}`,
          amount: 1000,
        },
      );
      expect(r.status).toBe(201);
      for (const step of ["check-in", "check-out"]) {
        const path = `/parking-lots/graceful-1/reservations/${r.body.reservationId}/${step}`;
        expect((await call(service.url, "POST", path)).status).toBe(200);
      }
    }
    const caughtUp = await projectionsAtHead(service.url);
    eventsBeforeShutdown = Number(caughtUp[0]?.headPosition);
    expect(eventsBeforeShutdown).toBeGreaterThanOrEqual(41); // 1 lot + 10 × (reserve, in, out) + 10 coupons

    const { socket, rest } = await startHalfSentReservation(
      port,
      "graceful-1",
      "graceful-a",
      await operatorHeaders(shared.dir),
    );
    const response = readResponse(socket);
    response.catch(() => undefined);

    service.child.kill("SIGTERM");
    await sleep(200);
    // Still waiting for the rest of our body: the shutdown has not cut the request off.
    expect(service.child.exitCode).toBeNull();
    expect(service.child.signalCode).toBeNull();

    socket.write(rest);
    const reply = await response;
    expect(reply.status).toBe(201);
    expect(reply.headers["content-type"]).toMatch(/^application\/json/);
    expect(reply.headers["x-correlation-id"]).toBe("graceful-a");
    const body = JSON.parse(reply.body) as Record<string, unknown>;
    expect(body).toMatchObject({ parkingLotId: "graceful-1", status: "RESERVED", ...RESERVATION });
    expect(body.reservationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.position).toMatch(/^[0-9]+$/);
    expect(reply.headers.location).toBe(`/reservations/${body.reservationId}`);
    reservationFromA = { reservationId: String(body.reservationId), parkingLotId: "graceful-1" };

    // The server closes the connection after answering (no keep-alive while shutting down)...
    await closedWithin(socket, 5_000);
    // ...and the process exits by itself, code 0 (a timed-out shutdown would exit 1).
    expect(await exitWithin(service, SHUTDOWN_TIMEOUT_MS + 5_000)).toBe(0);
    const log = service.output();
    expect(log).toContain('"reason":"SIGTERM"');
    expect(log).toContain("shutdown complete");
    expect(log).not.toContain("timed out");
  });

  it("(b) while shutting down, /readyz answers 503 on a connection already open, and new connections are refused", async () => {
    const dir = tempDataDir("parking-graceful-b-");
    dirs.push(dir);
    // The processors in the request thread ((a), (c) and (d) stop a worker thread): what this
    // test looks at is the listener and the requests in flight, and it starts a second faster.
    const service = await processes.start({
      DATA_DIR: dir.dir,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      PROCESSORS_THREAD: "main",
    });
    const port = portOf(service);
    expect((await call(service.url, "GET", "/readyz")).status).toBe(200);
    expect(
      (await call(service.url, "POST", "/parking-lots", { parkingLotId: "b", name: "B", capacity: 1 }))
        .status,
    ).toBe(201);

    // A probe that has started its request (headers not finished), so the connection is not idle.
    const probe = await openSocket(port);
    probe.write(`GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    // A request in flight that holds the shutdown open while we look.
    const { socket, rest } = await startHalfSentReservation(
      port,
      "b",
      "graceful-b",
      await operatorHeaders(dir.dir),
    );
    const reservation = readResponse(socket);
    reservation.catch(() => undefined);

    service.child.kill("SIGTERM");
    // The listener closes: new connections are refused (polled, bounded).
    await eventually(
      async () => ((await connectionRefused(port)) ? true : undefined),
      5_000,
      "new connections to be refused",
    );
    expect(service.child.exitCode).toBeNull();

    const readyz = readResponse(probe);
    probe.write("\r\n");
    const notReady = await readyz;
    expect(notReady.status).toBe(503);
    expect(notReady.headers.connection).toBe("close");
    const checks = JSON.parse(notReady.body) as {
      status: string;
      checks: Record<string, { ok: boolean; detail?: string }>;
    };
    expect(checks.status).toBe("not ready");
    expect(checks.checks.lifecycle).toEqual({ ok: false, detail: "shutting down" });
    await closedWithin(probe, 5_000);

    socket.write(rest);
    expect((await reservation).status).toBe(201);
    expect(await exitWithin(service, SHUTDOWN_TIMEOUT_MS + 5_000)).toBe(0);
    expect(await connectionRefused(port)).toBe(true);
  });

  it("(c) idle keep-alive connections do not hold the shutdown open", async () => {
    const dir = tempDataDir("parking-graceful-c-");
    dirs.push(dir);
    // Shorter than the server's keep-alive (5 s) and headers (10 s) timeouts: only closing idle
    // connections at once lets the shutdown finish in time and exit 0 rather than 1.
    const service = await processes.start({
      DATA_DIR: dir.dir,
      LOG_LEVEL: "info",
      SHUTDOWN_TIMEOUT_MS: "4000",
    });
    const port = portOf(service);

    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const pooled = await new Promise<Socket>((resolve, reject) => {
        const req = httpRequest({ host: "127.0.0.1", port, path: "/parking-lots", agent }, (res) => {
          expect(res.statusCode).toBe(200);
          expect(res.headers.connection).toBe("keep-alive");
          res.resume();
          res.once("end", () => resolve(req.socket as Socket));
        });
        req.once("error", reject);
        req.end();
      });
      // A connection that was opened and never sent a byte.
      const silent = await openSocket(port);
      await sleep(100);
      expect(pooled.destroyed).toBe(false);
      expect(silent.destroyed).toBe(false);

      service.child.kill("SIGTERM");
      await Promise.all([closedWithin(pooled, 3_500), closedWithin(silent, 3_500)]);
      expect(await exitWithin(service, 10_000)).toBe(0);
      expect(service.output()).toContain("shutdown complete");
      expect(service.output()).not.toContain("timed out");
    } finally {
      agent.destroy();
    }
  });

  it("(d) a restart on the same DATA_DIR has the reservation of (a) and resumes the projections from their saved checkpoints", async () => {
    expect(reservationFromA, "needs (a)").toBeDefined();
    const { reservationId, parkingLotId } = reservationFromA!;
    const service = await processes.start({ DATA_DIR: shared.dir });

    const projections = await projectionsAtHead(service.url, 10_000);
    expect(projections.map((p) => p.name).sort()).toEqual([...PROCESSOR_NAMES].sort());

    const reservation = await eventually(
      async () => {
        const r = await call<Record<string, unknown> & { coupon?: { status: string } }>(
          service.url,
          "GET",
          `/reservations/${reservationId}`,
        );
        return r.status === 200 ? r.body : undefined;
      },
      10_000,
      "the reservation of (a)",
    );
    expect(reservation).toMatchObject({ reservationId, parkingLotId, status: "RESERVED", ...RESERVATION });

    const lot = await call(service.url, "GET", `/parking-lots/${parkingLotId}`);
    expect(lot.body).toMatchObject({ capacity: 50, activeReservations: 1, availableSpots: 49 });
    // The booking of (a) gets its coupon too, once the policy has acted on it: once each.
    const totals = await eventually(
      async () => {
        const c = await call<{ totals: Record<string, number> }>(service.url, "GET", "/control-center");
        return c.body.totals.couponsIssued === 11 ? c.body.totals : undefined;
      },
      10_000,
      "the coupon of (a)",
    );
    expect(totals).toMatchObject({ totalReservations: 11, couponsIssued: 11, couponsRevoked: 0 });

    // Resumed, not replayed: since the restart each projection applied at most what came after
    // its saved checkpoint (the reservation of (a)), far less than the history.
    const metrics = await (
      await fetch(`${service.url}/metrics`, { headers: await operatorHeaders(shared.dir) })
    ).text();
    for (const name of ["parking-lots", "reservations", "customer-coupons", "control-center"]) {
      const applied = Number(
        new RegExp(`^parking_projection_events_total\\{projection="${name}"\\} (\\d+)$`, "m").exec(
          metrics,
        )?.[1] ?? 0,
      );
      expect(applied, name).toBeLessThanOrEqual(2);
    }
    expect(eventsBeforeShutdown).toBeGreaterThan(2);

    service.child.kill("SIGTERM");
    expect(await exitWithin(service, SHUTDOWN_TIMEOUT_MS + 5_000)).toBe(0);
  });
});

describe("SIGTERM ends the process within SHUTDOWN_TIMEOUT_MS even when a request never finishes", () => {
  const processes = serviceProcesses();
  const data = tempDataDir("parking-never-finishes-");

  afterEach(async () => {
    await processes.killAll();
  });
  afterAll(() => data.remove());

  it("a request whose body never comes has its connection closed at 3/4 of the timeout; the stores close and the process exits 0 in time", async () => {
    const timeoutMs = 4_000;
    const service = await processes.start({
      DATA_DIR: data.dir,
      LOG_LEVEL: "info",
      SHUTDOWN_TIMEOUT_MS: String(timeoutMs),
      PROCESSORS_THREAD: "main",
    });
    const port = portOf(service);
    const lot = { parkingLotId: "stuck-1", name: "stuck", capacity: 5 };
    expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);
    // Half a body, and never the rest: the request stays in flight (HTTP_REQUEST_TIMEOUT_MS is 30 s).
    const { socket } = await startHalfSentReservation(
      port,
      "stuck-1",
      "never-ends",
      await operatorHeaders(data.dir),
    );
    const signaledAt = Date.now();
    service.child.kill("SIGTERM");
    await closedWithin(socket, timeoutMs);
    const code = await exitWithin(service, timeoutMs + 5_000);
    const log = service.output();
    expect(code, log).toBe(0);
    expect(Date.now() - signaledAt).toBeLessThan(timeoutMs + 3_000);
    expect(log).toContain("requests still unanswered at 3/4 of SHUTDOWN_TIMEOUT_MS");
    expect(log).toContain('"route":"POST /parking-lots/{parkingLotId}/reservations"');
    // The stores were closed (checkpoints saved), not abandoned by the hard timeout.
    expect(log).toContain("shutdown complete");
    expect(log).not.toContain("timed out");
  });
});

describe("draining before the listener closes (SHUTDOWN_DRAIN_MS), and a port in use", () => {
  const processes = serviceProcesses();
  const data = tempDataDir("parking-drain-");

  afterEach(async () => {
    await processes.killAll();
  });
  afterAll(() => data.remove());

  it("after SIGTERM it answers new connections during the drain (not ready, Connection: close), then stops listening and exits 0", async () => {
    const drainMs = 2_000;
    const service = await processes.start({
      DATA_DIR: data.dir,
      LOG_LEVEL: "info",
      SHUTDOWN_DRAIN_MS: String(drainMs),
      PROCESSORS_THREAD: "main", // as in (b): the listener is what this test looks at
    });
    const lot = await call(service.url, "POST", "/parking-lots", {
      parkingLotId: "drain-1",
      name: "drain",
      capacity: 10,
    });
    expect(lot.status).toBe(201);

    const signaledAt = Date.now();
    service.child.kill("SIGTERM");
    await sleep(300);
    // Within the drain: /readyz already says no, so a gateway stops routing here...
    const ready = await call(service.url, "GET", "/readyz");
    expect(ready.status).toBe(503);
    // ...while what still arrives (a gateway that has not noticed yet) is served, on a new
    // connection, and the connection is closed after the answer.
    const reserved = await call(service.url, "POST", "/parking-lots/drain-1/reservations", {
      customerId: "CUST1",
      carNumber: "10더8612",
      amount: 1000,
    });
    expect(reserved.status).toBe(201);
    expect(reserved.headers.get("connection")).toBe("close");
    expect(Date.now() - signaledAt).toBeLessThan(drainMs);

    expect(await exitWithin(service, drainMs + SHUTDOWN_TIMEOUT_MS)).toBe(0);
    const log = service.output();
    expect(log).toContain("draining before the listener closes");
    expect(log).toContain("shutdown complete");
    await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
  });

  it("a second process on a port in use says so in one line and exits 1", async () => {
    // Another process holds the port: a listener of this test process is one, and starts at once.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as AddressInfo).port;
    const second = tempDataDir("parking-port-taken-");
    try {
      const child = spawn(process.execPath, [...SERVICE_ARGS], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, DATA_DIR: second.dir, HOST: "127.0.0.1", PORT: String(port) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      expect(code).toBe(1);
      const lines = stderr
        .trim()
        .split("\n")
        .filter((l) => !l.includes("Unknown user config"));
      expect(lines).toEqual([
        `failed to start: port ${port} on 127.0.0.1 is already in use by another process: stop that process or start this one with another PORT`,
      ]);
    } finally {
      second.remove();
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
