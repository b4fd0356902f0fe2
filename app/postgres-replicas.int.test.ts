import { existsSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PostgresDocumentStore } from "../document-store/postgres/pg-document-store.js";
import { PostgresEventStore } from "../event-store/postgres/pg-event-store.js";
import { rotateSigningKey } from "../platform/auth/dev-issuer.js";
import { RESERVATIONS } from "../projections/read-models/reservations.js";
import { LEASES, type LeaseDocument } from "../projections/runtime/leases.js";
import { systemActor } from "../schemas/actor.js";
import { encodeEvent } from "../schemas/event-codec.js";
import { customerHeaders, operatorHeaders } from "../test-support/auth.js";
import { serverStatus, startGateway } from "../test-support/gateway.js";
import { parkingReserved } from "../test-support/given-when-then.js";
import {
  API_AUDIENCE,
  CLIENTS,
  PAGE_CLIENT,
  RESOURCE,
  ROLE_MAP,
  startTestProvider,
} from "../test-support/oidc-provider.js";
import { type PostgresCluster, startPostgres } from "../test-support/postgres/cluster.js";
import { freePorts, type ServiceProcess } from "../test-support/process.js";
import { call, tempDataDir } from "../test-support/service.js";
import { serviceProcesses } from "../test-support/spawned-services.js";

/**
 * The built service on PostgreSQL (DATABASE_URL, issue 70): three real processes on one database,
 * each with its own empty DATA_DIR: the log, the read models, the data keys and the secrets (the
 * development issuer's key pair) are all in the database, so a token minted from one replica's
 * files is accepted by the others, and a replica started later on another empty DATA_DIR serves
 * the same data, personal fields included. Also: a data key made by the processors thread, a
 * signing key rotated while the replicas run, and two replicas behind the project's gateway
 * (HAProxy) on an external provider (the oidc-provider stand-in), a page session shared by both.
 */
const HOUR = 3_600_000;
const LOT = "pg-replicas-1";

describe("three replicas on one PostgreSQL database (real processes)", () => {
  const dirs = Array.from({ length: 13 }, () => tempDataDir("parking-pg-replicas-"));
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
    for (const dir of dirs) dir.remove();
  });

  it("200 bookings racing through three on a lot of 50: exactly 50 accepted, all in PostgreSQL, and all there after kill -9", async () => {
    const envOf = (n: number) => ({ DATA_DIR: (dirs[n] as { dir: string }).dir, DATABASE_URL: url });
    const replicas: ServiceProcess[] = [];
    for (const n of [0, 1, 2]) replicas.push(await processes.start(envOf(n)));
    const [first] = replicas as [ServiceProcess];
    const lot = { parkingLotId: LOT, name: "PG 주차장", capacity: 50, hourlyRate: 1000 };
    expect((await call(first.url, "POST", "/parking-lots", lot)).status).toBe(201);
    const startsAt = Math.floor(Date.now() / 60_000) * 60_000 + HOUR;
    // Tokens minted from the first replica's DATA_DIR (its key pair came from the database).
    const signedBy = (dirs[0] as { dir: string }).dir;
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
        await customerHeaders(signedBy, `CUST-PG${n}`),
      );
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, n) => book(replicas[n % 3] as ServiceProcess, n)),
    );
    const accepted = answers.filter((a) => a.status === 201);
    expect(
      answers.filter((a) => a.status !== 201 && a.status !== 409),
      "every replica accepts the token",
    ).toEqual([]);
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
    for (const n of [0, 1, 2]) {
      const dir = (dirs[n] as { dir: string }).dir;
      for (const file of ["events.sqlite", "read-models.sqlite", join("keys", "data-keys.sqlite")])
        expect(existsSync(join(dir, file)), `${file} in DATA_DIR ${n}`).toBe(false);
    }

    await processes.killAll(); // kill -9 of all three
    const again = await processes.start(envOf(3)); // a fourth, EMPTY, DATA_DIR
    for (const answer of accepted) {
      const id = answer.body.reservationId as string;
      await expect
        .poll(async () => (await call(again.url, "GET", `/reservations/${id}`)).status, { timeout: 20_000 })
        .toBe(200);
    }
    const one = accepted[0]?.body.reservationId as string;
    const read = await call<{ carNumber?: string }>(again.url, "GET", `/reservations/${one}`);
    expect(read.body.carNumber, "personal fields open with the keys from the database").toMatch(/^12가34/);
  });

  it("kill -9 of the replica holding the reservations projection's lease: the other takes it, its read model catches up", async () => {
    const db = await cluster.createDatabase("leases");
    const envOf = (n: number) => ({
      DATA_DIR: (dirs[n] as { dir: string }).dir,
      DATABASE_URL: db,
      PROCESSOR_LEASE_TTL_MS: "1000",
      PROCESSOR_LEASE_RENEW_MS: "250",
    });
    const pair = [await processes.start(envOf(4)), await processes.start(envOf(5))];
    const observer = await PostgresDocumentStore.open({ url: db });
    try {
      const holderPid = async () =>
        (await observer.findById<LeaseDocument>(LEASES, RESERVATIONS))?.owner?.split("/")[1];
      const pids = pair.map((p) => String(p.child.pid));
      await expect.poll(holderPid, { timeout: 20_000 }).toSatisfy((pid) => pids.includes(pid as string));
      const held = await holderPid();
      const holder = pair.find((p) => String(p.child.pid) === held) as ServiceProcess;
      const other = pair.find((p) => p !== holder) as ServiceProcess;
      holder.child.kill("SIGKILL");
      expect(await holder.exited).toBe("SIGKILL");
      const lot = { parkingLotId: "pg-lease-1", name: "Lease lot", capacity: 5, hourlyRate: 1000 };
      expect((await call(other.url, "POST", "/parking-lots", lot)).status).toBe(201);
      const startsAt = Math.floor(Date.now() / 60_000) * 60_000 + HOUR;
      const booked = await call<{ reservationId?: string }>(
        other.url,
        "POST",
        "/parking-lots/pg-lease-1/reservations",
        {
          carNumber: "12가9999",
          startsAt: new Date(startsAt).toISOString(),
          endsAt: new Date(startsAt + HOUR).toISOString(),
        },
        await customerHeaders((dirs[5] as { dir: string }).dir, "CUST-LEASE"),
      );
      expect(booked.status).toBe(201);
      await expect.poll(holderPid, { timeout: 20_000 }).toBe(String(other.child.pid));
      const id = booked.body.reservationId as string;
      await expect
        .poll(async () => (await call(other.url, "GET", `/reservations/${id}`)).status, { timeout: 20_000 })
        .toBe(200);
    } finally {
      await observer.close();
    }
  });

  it("a data key made in the processors thread is in PostgreSQL before the event sealed under it commits", async () => {
    const db = await cluster.createDatabase("worker_keys");
    const replica = await processes.start({ DATA_DIR: (dirs[6] as { dir: string }).dir, DATABASE_URL: db });
    const lot = { parkingLotId: "pg-keys-1", name: "Keys lot", capacity: 5, hourlyRate: 1000 };
    expect((await call(replica.url, "POST", "/parking-lots", lot)).status).toBe(201);
    const sql = new pg.Client({ connectionString: db });
    await sql.connect();
    const log = await PostgresEventStore.open({ url: db });
    try {
      // Every key insert is refused ("not now") and counted, until the test lets them through.
      await sql.query(`CREATE SEQUENCE key_inserts;
        CREATE FUNCTION refuse_keys() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
          PERFORM nextval('key_inserts'); RAISE EXCEPTION 'keys refused' USING ERRCODE = '57P03'; END $$;
        CREATE TRIGGER refuse_keys BEFORE INSERT ON data_keys FOR EACH ROW EXECUTE FUNCTION refuse_keys();`);
      // A booking of a customer no thread has a key for, written unsealed (as by an older
      // version): the coupon policy, in the processors thread, seals its coupon under a new key.
      const { rows } = await sql.query<{ stream_id: string; revision: string }>(
        "SELECT stream_id, max(revision) AS revision FROM events WHERE stream_id LIKE 'parkingLot-pg-keys-1%' GROUP BY stream_id",
      );
      const head = rows[0] as { stream_id: string; revision: string };
      const booking = parkingReserved({
        parkingLotId: "pg-keys-1",
        reservationId: "res-keys-1",
        customerId: "CUST-NEW-KEY",
      });
      const causation = { correlationId: "c-keys", causationId: "c-keys", actor: systemActor("test") };
      await log.appendToStream(head.stream_id, [encodeEvent(booking, causation)], {
        expectedRevision: Number(head.revision),
      });
      const attempts = async () =>
        Number(
          (await sql.query<{ n: string }>("SELECT last_value AS n FROM key_inserts WHERE is_called")).rows[0]
            ?.n ?? 0,
        );
      await expect.poll(attempts, { timeout: 20_000 }).toBeGreaterThan(0);
      await sql.query("DROP TRIGGER refuse_keys ON data_keys");
      const sealedUnder = async () =>
        (
          await sql.query<{ key: string }>(
            "SELECT split_part(data->>'customerId', '.', 2) AS key FROM events WHERE type = 'CouponIssued' AND data->>'reservationId' = 'res-keys-1'",
          )
        ).rows[0]?.key;
      await expect.poll(sealedUnder, { timeout: 20_000 }).toBeTruthy();
      const key = (await sealedUnder()) as string;
      const stored = async () => (await sql.query("SELECT 1 FROM data_keys WHERE id = $1", [key])).rowCount;
      // Before: the coupon committed (through the request thread) while its key was refused, and
      // that key was never stored: every other reader saw the customer as erased.
      await expect.poll(stored, { timeout: 10_000 }).toBe(1);
    } finally {
      await log.close();
      await sql.end();
    }
  });

  it("an erasure answered by one replica: the other refuses the customer at once, though it has not heard the notification", async () => {
    const db = await cluster.createDatabase("erasure");
    const [dirA, dirB] = [dirs[11], dirs[12]].map((d) => (d as { dir: string }).dir) as [string, string];
    const a = await processes.start({ DATA_DIR: dirA, DATABASE_URL: db });
    const b = await processes.start({ DATA_DIR: dirB, DATABASE_URL: `${db}?application_name=replica-b` });
    const lot = { parkingLotId: "pg-erase-1", name: "Erasure lot", capacity: 5, hourlyRate: 1000 };
    expect((await call(a.url, "POST", "/parking-lots", lot)).status).toBe(201);
    const customer = await customerHeaders(dirA, "CUST-PG-ERASE");
    const startsAt = Math.floor(Date.now() / 60_000) * 60_000 + HOUR;
    const booking = {
      carNumber: "12가7070",
      startsAt: new Date(startsAt).toISOString(),
      endsAt: new Date(startsAt + HOUR).toISOString(),
    };
    expect(
      (await call(a.url, "POST", "/parking-lots/pg-erase-1/reservations", booking, customer)).status,
    ).toBe(201);
    expect((await call(b.url, "GET", "/reservations", undefined, customer)).status).toBe(200);
    // B's LISTEN connections for the keys (its request and processors threads) hear nothing from here.
    const sql = new pg.Client({ connectionString: db });
    await sql.connect();
    const { rows } = await sql.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'replica-b' AND query = 'LISTEN data_keys'",
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const { pid } of rows) process.kill(pid, "SIGSTOP");
    try {
      const erased = await call(a.url, "POST", "/customers/CUST-PG-ERASE/erasure", {}, customer);
      expect(erased.status).toBe(200);
      // Before: B learnt of the erasure only by that notification, and served the customer (200).
      const after = await call<{ type?: string }>(b.url, "GET", "/reservations", undefined, customer);
      expect(after.status).toBe(403);
      expect(after.body.type).toBe("/problems/customer-erased");
    } finally {
      for (const { pid } of rows) process.kill(pid, "SIGCONT");
      await sql.end();
    }
  });

  it("a signing key rotated on one replica's DATA_DIR is accepted by the other while both run", async () => {
    const db = await cluster.createDatabase("rotation");
    const [dirA, dirB] = [dirs[7], dirs[8]].map((d) => (d as { dir: string }).dir) as [string, string];
    const a = await processes.start({ DATA_DIR: dirA, DATABASE_URL: db });
    const b = await processes.start({ DATA_DIR: dirB, DATABASE_URL: db });
    const before = await operatorHeaders(dirA);
    expect((await call(b.url, "GET", "/control-center", undefined, before)).status).toBe(200);
    const kid = await rotateSigningKey(dirA); // as an operator rotates it, on A's DATA_DIR
    const after = await operatorHeaders(dirA);
    const header = JSON.parse(
      Buffer.from(after.authorization.slice(7).split(".")[0] ?? "", "base64url").toString(),
    );
    expect(header.kid).toBe(kid);
    expect((await call(a.url, "GET", "/control-center", undefined, after)).status).toBe(200);
    // Before: B knew only the keys in the database at its start, and refused the new one until restarted.
    await expect
      .poll(async () => (await call(b.url, "GET", "/control-center", undefined, after)).status, {
        timeout: 15_000,
      })
      .toBe(200);
    expect(
      (await call(b.url, "GET", "/control-center", undefined, before)).status,
      "the old key still verifies",
    ).toBe(200);
  });

  it("behind the gateway, on an external provider: a page session started on one replica is used on the other, bookings spread over both", async () => {
    const db = await cluster.createDatabase("gateway");
    const [front, stats, p1, p2] = (await freePorts(4)) as [number, number, number, number];
    const provider = await startTestProvider({ redirectUris: [`http://127.0.0.1:${front}/control-center`] });
    let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
    try {
      const envOf = (n: number, port: number) => ({
        DATA_DIR: (dirs[n] as { dir: string }).dir,
        DATABASE_URL: db,
        PORT: String(port),
        AUTH_ISSUER: provider.issuer,
        AUTH_AUDIENCE: API_AUDIENCE,
        AUTH_ROLES_CLAIMS: "roles",
        AUTH_ROLE_MAP: ROLE_MAP,
        PAGE_OIDC_CLIENT_ID: PAGE_CLIENT,
        PAGE_OIDC_SCOPE: "openid api",
        PAGE_OIDC_RESOURCE: RESOURCE,
      });
      const r1 = await processes.start(envOf(9, p1));
      const r2 = await processes.start(envOf(10, p2));
      gateway = await startGateway((dirs[9] as { dir: string }).dir, {
        front,
        stats,
        command: [p1, p2],
        query: [p1, p2],
      });
      // The page's sign-in ends by posting the provider's access token (after Authorization Code +
      // PKCE in the browser): started on the first replica, the session is used on the second.
      const operator = await provider.clientCredentials(CLIENTS.operatorRobot, RESOURCE);
      const started = await fetch(`${r1.url}/sign-in/session`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${operator}`,
          "sec-fetch-site": "same-origin",
          "content-type": "application/json",
        },
        body: "{}",
      });
      expect(started.status).toBe(204);
      const cookie = (started.headers.get("set-cookie") ?? "").split(";")[0] as string;
      expect(cookie).toMatch(/^parking_session=/);
      const session = { authorization: "", cookie, "sec-fetch-site": "same-origin" };
      expect((await call(r2.url, "GET", "/control-center", undefined, session)).status).toBe(200);

      // Through the gateway: the operator's lot, 20 racing bookings of one customer on a lot of 3.
      const bearer = { authorization: `Bearer ${operator}` };
      const lot = { parkingLotId: "pg-gateway-1", name: "Gateway lot", capacity: 3, hourlyRate: 1000 };
      expect((await call(gateway.base, "POST", "/parking-lots", lot, bearer)).status).toBe(201);
      const customer = await provider.clientCredentials(CLIENTS.customer7, RESOURCE);
      const startsAt = Math.floor(Date.now() / 60_000) * 60_000 + HOUR;
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, n) =>
          call<{ reservationId?: string; position?: string }>(
            (gateway as { base: string }).base,
            "POST",
            "/parking-lots/pg-gateway-1/reservations",
            {
              carNumber: `12가${5600 + n}`,
              startsAt: new Date(startsAt + n * 60_000).toISOString(),
              endsAt: new Date(startsAt + HOUR).toISOString(),
            },
            { authorization: `Bearer ${customer}` },
          ),
        ),
      );
      expect(answers.filter((a) => a.status !== 201 && a.status !== 409)).toEqual([]);
      expect(answers.filter((a) => a.status === 201)).toHaveLength(3);
      // The session's reads, 20 at once through the gateway: every one answered, by both replicas.
      const reads = await Promise.all(
        Array.from({ length: 20 }, () =>
          call((gateway as { base: string }).base, "GET", "/control-center", undefined, session),
        ),
      );
      expect(reads.map((r) => r.status)).toEqual(reads.map(() => 200));
      const served = async (server: string) => {
        const csv = await (await fetch(`http://127.0.0.1:${stats}/stats;csv`)).text();
        const row = csv
          .split("\n")
          .find(
            (line) => line.startsWith(`command_api,${server},`) || line.startsWith(`query_api,${server},`),
          );
        return Number(row?.split(",")[7] ?? 0);
      };
      expect(await serverStatus(stats, "query_api", "query-api2")).toBe("UP");
      expect(
        (await served("query-api1")) + (await served("command-api1")),
        "the first replica served",
      ).toBeGreaterThan(0);
      expect(
        (await served("query-api2")) + (await served("command-api2")),
        "the second replica served",
      ).toBeGreaterThan(0);
    } finally {
      gateway?.process.kill("SIGKILL");
      await provider.stop();
    }
  });
});
