import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { operatorHeaders } from "../../test-support/auth.js";
import { gatewayConfig, HAPROXY, serverStatus } from "../../test-support/gateway.js";
import { freePorts, type ServiceProcess } from "../../test-support/process.js";
import { call, eventually, tempDataDir } from "../../test-support/service.js";
import { exitWithin, serviceProcesses } from "../../test-support/spawned-services.js";

/**
 * A rolling restart behind the project's gateway (deploy/gateway/haproxy.cfg, run by Debian's
 * haproxy): two command-apis, a projector and a query-api on one DATA_DIR, 50 clients for more
 * than 30 seconds, while each API process is replaced in turn the way a Deployment with
 * maxUnavailable: 0 does it (start the new one, wait until the gateway routes to it, SIGTERM the
 * old one, which drains). Every request must be answered, none with a 5xx, and every acknowledged
 * reservation must be in the log.
 */

const CLIENTS = 50;
const MIN_LOAD_MS = 30_000;
const DRAIN_MS = 3_000;
const LOTS = 10;
/** Where the gateway's log is kept after a run (ignored by git). */
const OUTPUT_DIR = new URL("../../test-output/rolling-restart/", import.meta.url).pathname;

type Seven = [number, number, number, number, number, number, number];

describe("a rolling restart behind the HAProxy gateway", () => {
  const processes = serviceProcesses();
  const data = tempDataDir("parking-rolling-");
  let gateway: ChildProcess | undefined;

  afterEach(async () => {
    gateway?.kill("SIGKILL");
    await processes.killAll();
  });
  afterAll(() => data.remove());

  // Six processes and 50 clients on two cores: generous, since a start under load is slow.
  it("answers every request of 50 clients, without a 5xx or a connection error, while each API process is replaced in turn", {
    timeout: 600_000,
  }, async () => {
    expect(existsSync(HAPROXY), `${HAPROXY} (apt-get install haproxy; .ci/run installs it)`).toBe(true);
    // Seven distinct ports: a slot's port taken again by another slot's process would put a
    // query-api behind the command backend (seen: 404s for every reservation routed there).
    const [front, stats, c1, c2, c3, q1, q2] = (await freePorts(7)) as Seven;
    const ports = { front, stats, command: [c1, c2, c3], query: [q1, q2] };
    const configFile = join(data.dir, "haproxy.cfg");
    writeFileSync(configFile, gatewayConfig(ports));

    const env = (role: string, port: number) => ({
      DATA_DIR: data.dir,
      ROLE: role,
      PORT: String(port),
      SHUTDOWN_DRAIN_MS: String(DRAIN_MS),
    });
    // Slot i of each backend: the process serving it now, if any.
    const command: (ServiceProcess | undefined)[] = [
      await processes.start(env("command-api", ports.command[0] as number)),
      await processes.start(env("command-api", ports.command[1] as number)),
      undefined,
    ];
    const query: (ServiceProcess | undefined)[] = [
      await processes.start(env("query-api", ports.query[0] as number)),
      undefined,
    ];
    await processes.start({ DATA_DIR: data.dir, ROLE: "projector" });

    let gatewayOutput = "";
    gateway = spawn(HAPROXY, ["-f", configFile, "-db"], { stdio: ["ignore", "pipe", "pipe"] });
    gateway.stdout?.on("data", (c: Buffer) => (gatewayOutput += c.toString()));
    gateway.stderr?.on("data", (c: Buffer) => (gatewayOutput += c.toString()));
    const base = `http://127.0.0.1:${ports.front}`;
    const up = (backend: string, server: string) =>
      eventually(
        async () => ((await serverStatus(ports.stats, backend, server)) === "UP" ? true : undefined),
        20_000,
        `${backend}/${server} UP at the gateway`,
      );
    await up("command_api", "command-api1").catch((error: Error) => {
      throw new Error(`${error.message}\ngateway output:\n${gatewayOutput}`);
    });
    await up("command_api", "command-api2");
    await up("query_api", "query-api1");

    // Through the gateway as an operator (the processes share DATA_DIR, so its dev issuer key).
    const operator = await operatorHeaders(data.dir);
    for (let lot = 0; lot < LOTS; lot++) {
      const registered = await call<{ position: string }>(
        base,
        "POST",
        "/parking-lots",
        { parkingLotId: `rolling-${lot}`, name: `롤링 ${lot}`, capacity: 100_000 },
        operator,
      );
      expect(registered.status, JSON.stringify(registered.body)).toBe(201);
      // The lot's view is written by the projector a moment later: the clients read it from the
      // first request, so it is read once here with the registration's position (read-your-writes;
      // seen without: a 404 for a lot registered milliseconds before).
      const seen = await call(
        base,
        "GET",
        `/parking-lots/rolling-${lot}?minPosition=${registered.body.position}`,
      );
      expect(seen.status, JSON.stringify(seen.body)).toBe(200);
    }

    // Callers learn the gateway's idle timeout, not the replicas' longer one, so they never send
    // on a connection the gateway is closing.
    const hint = (await fetch(`${base}/parking-lots/rolling-0`)).headers.get("keep-alive");
    expect(hint).toBe("timeout=10");

    // The load: each client alternates a reservation (with an Idempotency-Key, as a real client
    // retrying safely would send) and a read, over fetch's keep-alive connections.
    const acknowledged: string[] = [];
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let stop = false;
    let requests = 0;
    const client = async (id: number) => {
      for (let i = 0; !stop; i++) {
        const lot = `rolling-${(id + i) % LOTS}`;
        const reserve = i % 2 === 0;
        try {
          const response = await fetch(
            reserve ? `${base}/parking-lots/${lot}/reservations` : `${base}/parking-lots/${lot}`,
            {
              method: reserve ? "POST" : "GET",
              headers: reserve
                ? { ...operator, "content-type": "application/json", "idempotency-key": `c${id}-${i}` }
                : {},
              ...(reserve
                ? { body: JSON.stringify({ customerId: `C${id}-${i}`, carNumber: "10더8612", amount: 1000 }) }
                : {}),
              signal: AbortSignal.timeout(30_000),
            },
          );
          const body = (await response.json()) as { reservationId?: string };
          requests++;
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status !== 200 && response.status !== 201) {
            failures.push(
              `${reserve ? "POST" : "GET"} ${lot} at ${new Date().toISOString()}: ${response.status} ${JSON.stringify(body)}`,
            );
          }
          if (reserve && response.status === 201 && body.reservationId) acknowledged.push(body.reservationId);
        } catch (error) {
          requests++;
          failures.push(
            `connection error at ${new Date().toISOString()} (${reserve ? "POST" : "GET"}): ${String((error as Error).cause ?? error)}`,
          );
        }
      }
    };
    const started = Date.now();
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id)));

    // Replace each API process in turn: the new one starts in the free slot, the gateway sees it
    // ready, then the old one gets SIGTERM and drains.
    const replace = async (
      slots: (ServiceProcess | undefined)[],
      slotPorts: readonly number[],
      role: string,
      backend: string,
    ) => {
      const from = slots.findIndex((s) => s !== undefined);
      const to = slots.indexOf(undefined);
      const old = slots[from] as ServiceProcess;
      slots[to] = await processes.start(env(role, slotPorts[to] as number), { readyTimeoutMs: 120_000 });
      await up(backend, `${role}${to + 1}`);
      old.child.kill("SIGTERM");
      expect(await exitWithin(old, DRAIN_MS + 15_000)).toBe(0);
      slots[from] = undefined;
    };
    await sleep(3_000);
    await replace(command, ports.command, "command-api", "command_api");
    await replace(command, ports.command, "command-api", "command_api");
    await replace(query, ports.query, "query-api", "query_api");
    await sleep(Math.max(0, MIN_LOAD_MS - (Date.now() - started)));
    stop = true;
    await load;
    const elapsed = Date.now() - started;

    expect(elapsed).toBeGreaterThanOrEqual(MIN_LOAD_MS);
    expect(requests).toBeGreaterThan(CLIENTS * 4);
    // The gateway's whole log, for reading after a failure.
    mkdirSync(OUTPUT_DIR, { recursive: true });
    writeFileSync(join(OUTPUT_DIR, "gateway.log"), gatewayOutput);
    // The gateway logs a line per request; one whose termination state is not "----" went wrong
    // somewhere (the first letter says who closed: C client, S server, P/I/R/D/L/U the gateway).
    const gatewayEvents = gatewayOutput
      .split("\n")
      .filter((line) => !/ 200 \d+ - - ---- | 201 \d+ - - ---- | stats\/<STATS> /.test(line))
      .join("\n");
    expect(
      failures,
      `${failures.length} of ${requests}; statuses ${JSON.stringify([...statuses])}\n${gatewayEvents.slice(-6000)}`,
    ).toEqual([]);
    expect(
      [...statuses.keys()].every((s) => s === 200 || s === 201),
      JSON.stringify([...statuses]),
    ).toBe(true);

    // Every acknowledged reservation is in the log.
    const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    try {
      const logged = new Set<string>();
      for await (const event of store.readAll({ filter: { eventTypes: ["ParkingReserved"] } })) {
        logged.add((event.data as { reservationId: string }).reservationId);
      }
      const missing = acknowledged.filter((id) => !logged.has(id));
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(missing).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
