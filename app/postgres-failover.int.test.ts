import { appendFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { customerHeaders } from "../test-support/auth.js";
import { type PostgresCluster, serverFolder, startPostgres } from "../test-support/postgres/cluster.js";
import { freePort } from "../test-support/process.js";
import { call, eventually, tempDataDir } from "../test-support/service.js";
import { serviceProcesses } from "../test-support/spawned-services.js";

/**
 * The failover drill (issue 70): a primary with a synchronous streaming-replication standby
 * (`pg_basebackup -R`, application_name=standby), the built service writing bookings under load
 * through a multi-host URL naming both (`postgres://…@primary,standby/parking?target_session_attrs=
 * read-write`, platform/postgres/hosts.ts). The primary is killed (immediate stop: a crash) and the
 * standby promoted; the service answers 503 while no host is writable (the standby is read-only
 * until promoted), goes to the promoted standby by itself, and every booking it acknowledged is on it.
 */

describe("failover drill: primary killed, standby promoted, no acknowledged booking lost", () => {
  const data = tempDataDir("parking-pg-failover-");
  const processes = serviceProcesses();
  let primary: PostgresCluster | undefined;
  let standbyRoot: string | undefined;
  let standbyData: string | undefined;

  afterAll(async () => {
    await processes.killAll();
    await primary?.stop("immediate");
    if (primary && standbyData) {
      try {
        primary.run("pg_ctl", ["-D", standbyData, "-m", "immediate", "-w", "stop"]);
      } catch {
        // already down
      }
    }
    if (standbyRoot) rmSync(standbyRoot, { recursive: true, force: true });
    data.remove();
  });

  it("503 while it cannot write, then writes again by itself; every 201 is on the promoted standby", async () => {
    primary = await startPostgres({
      durable: true,
      replication: true,
      settings: ["synchronous_standby_names = 'standby'", "synchronous_commit = on"],
    });
    const cluster = primary;
    standbyRoot = serverFolder("parking-pg-standby-");
    standbyData = join(standbyRoot, "data");
    const standbyPort = await freePort();
    cluster.run("pg_basebackup", [
      "-h",
      "127.0.0.1",
      "-p",
      String(cluster.port),
      "-U",
      "postgres",
      "-D",
      standbyData,
      "-R",
      "-X",
      "stream",
    ]);
    appendFileSync(
      join(standbyData, "postgresql.auto.conf"),
      `port = ${standbyPort}\nunix_socket_directories = '${standbyRoot}'\nprimary_conninfo = 'host=127.0.0.1 port=${cluster.port} user=postgres application_name=standby'\n` +
        // Promoted, it has no standby of its own: without this its commits would wait for one forever.
        "synchronous_standby_names = ''\n",
    );
    cluster.run("pg_ctl", [
      "-D",
      standbyData,
      "-l",
      join(standbyRoot, "server.log"),
      "-w",
      "-t",
      "60",
      "start",
    ]);
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await eventually(
      async () =>
        (await admin.query("SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'")).rowCount
          ? true
          : undefined,
      30_000,
      "the standby to replicate synchronously",
    );
    await admin.end();
    await cluster.createDatabase("parking");

    const service = await processes.start({
      DATA_DIR: data.dir,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${cluster.port},127.0.0.1:${standbyPort}/parking?target_session_attrs=read-write`,
    });
    const lot = { parkingLotId: "failover-1", name: "Failover", capacity: 5000, hourlyRate: 1000 };
    expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);

    /**
     * The service's log for a failure message: each kind of line once (times and ids left out),
     * the last 40 kinds, so a loop of one refusal does not hide what came before it.
     */
    const distinctLines = (output: string) =>
      [
        ...new Set(
          output.split("\n").map((l) => l.replace(/"(time|correlationId|commandId)":"[^"]*",?/g, "")),
        ),
      ]
        .slice(-40)
        .join("\n")
        .slice(-6000);
    const acknowledged: string[] = [];
    const statuses = new Map<number, number>();
    let stop = false;
    let n = 0;
    const startsAt = Math.floor(Date.now() / 60_000) * 60_000 + 3_600_000;
    const writer = async () => {
      while (!stop) {
        const i = n++;
        const answer = await call<{ reservationId?: string }>(
          service.url,
          "POST",
          "/parking-lots/failover-1/reservations",
          {
            carNumber: `12가${1000 + i}`,
            startsAt: new Date(startsAt).toISOString(),
            endsAt: new Date(startsAt + 3_600_000).toISOString(),
          },
          await customerHeaders(data.dir, `CUST-F${i}`),
        ).catch(() => ({ status: 0, body: {} as { reservationId?: string } }));
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (answer.status === 201) acknowledged.push(answer.body.reservationId as string);
        else await sleep(20);
      }
    };
    const writers = Array.from({ length: 4 }, writer);
    const until = async (count: number) => {
      const deadline = Date.now() + 40_000;
      while (acknowledged.length < count) {
        if (Date.now() > deadline)
          throw new Error(
            `${acknowledged.length} of ${count} acknowledged: ${JSON.stringify(Object.fromEntries(statuses))}\n${distinctLines(service.output())}`,
          );
        await sleep(10);
      }
    };
    await until(30);
    await cluster.stop("immediate"); // the primary crashes
    await eventually(async () => ((statuses.get(503) ?? 0) > 0 ? true : undefined), 20_000, "a 503").catch(
      (error: unknown) => {
        throw new Error(
          `${String(error)}: ${JSON.stringify(Object.fromEntries(statuses))} n=${n}\n${distinctLines(service.output())}`,
        );
      },
    );
    cluster.run("pg_ctl", ["-D", standbyData, "-w", "-t", "60", "promote"]);
    const before = acknowledged.length;
    await until(before + 30);
    stop = true;
    await Promise.all(writers);

    expect([...statuses.keys()].filter((s) => s !== 201 && s !== 503)).toEqual([]);
    const promoted = new pg.Client({
      connectionString: `postgres://postgres@127.0.0.1:${standbyPort}/parking`,
    });
    await promoted.connect();
    try {
      const { rows } = await promoted.query<{ data: string }>(
        "SELECT data::text AS data FROM events WHERE type = 'ParkingReserved'",
      );
      const stored = rows.map((r) => r.data).join("\n");
      expect(acknowledged.filter((id) => !stored.includes(id))).toEqual([]);
    } finally {
      await promoted.end();
    }
    console.log(`failover drill answers: ${JSON.stringify(Object.fromEntries(statuses))}`);
  }, 120_000);
});
