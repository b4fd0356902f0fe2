import { existsSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { customerHeaders } from "../test-support/auth.js";
import { type PostgresCluster, startPostgres } from "../test-support/postgres/cluster.js";
import type { ServiceProcess } from "../test-support/process.js";
import { call, tempDataDir } from "../test-support/service.js";
import { serviceProcesses } from "../test-support/spawned-services.js";

/**
 * The built service on PostgreSQL (DATABASE_URL, issue 70): two real processes whose event log is
 * one PostgreSQL database. They still share one DATA_DIR, for what is not on PostgreSQL yet (the
 * read models, data keys, the auth key pair: docs/operations.md, Running on PostgreSQL).
 */
const HOUR = 3_600_000;
const LOT = "pg-replicas-1";

describe("two replicas on one PostgreSQL database (real processes)", () => {
  const data = tempDataDir("parking-pg-replicas-");
  const processes = serviceProcesses();
  let cluster: PostgresCluster;
  let url: string;

  beforeAll(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase("parking");
  }, 60_000);
  afterEach(() => processes.killAll());
  afterAll(async () => {
    await cluster?.stop();
    data.remove();
  });

  it("200 bookings racing through both on a lot of 50: exactly 50 accepted, all in PostgreSQL, and all there after kill -9", async () => {
    const env = { DATA_DIR: data.dir, DATABASE_URL: url };
    const first = await processes.start(env);
    const second = await processes.start(env);
    const lot = { parkingLotId: LOT, name: "PG 주차장", capacity: 50, hourlyRate: 1000 };
    expect((await call(first.url, "POST", "/parking-lots", lot)).status).toBe(201);
    const startsAt = Math.floor(Date.now() / 60_000) * 60_000 + HOUR;
    const book = async (via: ServiceProcess, n: number) =>
      call<{ reservationId?: string }>(
        via.url,
        "POST",
        `/parking-lots/${LOT}/reservations`,
        {
          carNumber: `12가${3400 + n}`,
          startsAt: new Date(startsAt).toISOString(),
          endsAt: new Date(startsAt + HOUR).toISOString(),
        },
        await customerHeaders(data.dir, `CUST-PG${n}`),
      );
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, n) => book(n % 2 === 0 ? first : second, n)),
    );
    const accepted = answers.filter((a) => a.status === 201);
    expect(answers.filter((a) => a.status !== 201 && a.status !== 409)).toEqual([]);
    expect(accepted).toHaveLength(50);

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM events WHERE stream_id LIKE $1 AND type = 'ParkingReserved'",
        [`%${LOT}%`],
      );
      expect(Number(rows[0]?.n)).toBe(50);
    } finally {
      await db.end();
    }
    expect(existsSync(join(data.dir, "events.sqlite"))).toBe(false);

    await processes.killAll(); // kill -9 of both
    const again = await processes.start(env);
    for (const answer of accepted) {
      const id = answer.body.reservationId as string;
      await expect
        .poll(async () => (await call(again.url, "GET", `/reservations/${id}`)).status, { timeout: 20_000 })
        .toBe(200);
    }
  });
});
