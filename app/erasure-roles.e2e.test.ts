import { afterAll, afterEach, describe, expect, it } from "vitest";
import { customerHeaders } from "../test-support/auth.js";
import { killChildren, spawnRole } from "../test-support/children.js";
import { filesOf } from "../test-support/files-under.js";
import { call, eventually, tempDataDir } from "../test-support/service.js";

/**
 * Erasure with the roles in separate processes (issue 36): a command-api has no read models to
 * list the customer's reservations from, so its erasure fact says so, and the projector lists them
 * (a second fact) and rewrites every read model and lot snapshot. Both share one DATA_DIR, and so
 * one key store: the keys the command-api deletes are gone for the projector too. Afterwards no
 * view and no file under DATA_DIR holds the erased customer's id or plates.
 */

interface Reservation {
  reservationId: string;
  customerId: string;
  carNumber: string;
  amount: number;
}

describe("erasing a customer with split roles", () => {
  const data = tempDataDir("parking-erase-roles-");
  const env = (role: string) => ({
    EMBEDDED_POLL_INTERVAL_MS: "20",
    SHUTDOWN_TIMEOUT_MS: "10000",
    // Snapshots of the lot hold the plates too: one after every other event.
    DATA_DIR: data.dir,
    ROLE: role,
    // One access line per request: the test reads every role's log for the erased id.
    LOG_LEVEL: "info",
  });

  afterEach(async () => {
    await killChildren();
  });
  afterAll(async () => {
    await killChildren();
    data.remove();
  });

  it("lists, rewrites and forgets the customer's reservations through the projector", async () => {
    const [commands, projector, queries] = await Promise.all([
      spawnRole(env("command-api")),
      spawnRole(env("projector")),
      spawnRole(env("query-api")),
    ]);
    expect(projector.url).toBeTruthy();
    const lot = "erase-roles-1";
    expect(
      (await call(commands.url, "POST", "/parking-lots", { parkingLotId: lot, name: "역할", capacity: 10 }))
        .status,
    ).toBe(201);
    const gone = "eroles-gone";
    const kept = "eroles-kept";
    const bookings = [
      { customerId: gone, carNumber: "51가1111" },
      { customerId: gone, carNumber: "52나2222" },
      { customerId: kept, carNumber: "53다3333" },
    ];
    for (const booking of bookings) {
      const booked = await call(commands.url, "POST", `/parking-lots/${lot}/reservations`, {
        ...booking,
        amount: 6000,
      });
      expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    }
    const listed = async () => {
      const page = await call<{ items: Reservation[] }>(
        queries.url,
        "GET",
        `/reservations?parkingLotId=${lot}&limit=100`,
      );
      return page.status === 200 ? page.body.items : [];
    };
    const before = await eventually(async () => {
      const items = await listed();
      return items.length === bookings.length ? items : undefined;
    }, 30_000);
    expect(before.filter((r) => r.customerId === gone)).toHaveLength(2);
    const token = await customerHeaders(data.dir, gone);
    const coupons = await call(queries.url, "GET", `/customers/${gone}/coupons`, undefined, token);
    expect(coupons.status).toBe(200);

    const erased = await call(commands.url, "POST", `/customers/${gone}/erasure`, { reason: "split roles" });
    expect(erased.status, JSON.stringify(erased.body)).toBe(200);
    expect(erased.body).toMatchObject({ customerId: gone, erasedReservations: 0, listedLater: true });
    // The erasure, made by the command-api, ends the customer on every process sharing the key store.
    const refused = [
      await call(
        commands.url,
        "POST",
        `/parking-lots/${lot}/reservations`,
        { carNumber: "54라4444", amount: 6000 },
        token,
      ),
      await call(queries.url, "GET", "/reservations", undefined, token),
      await call(queries.url, "GET", `/customers/${gone}/coupons`, undefined, token),
    ];
    for (const answer of refused)
      expect(answer.body, JSON.stringify(answer.body)).toMatchObject({ type: "/problems/customer-erased" });

    const after = await eventually(
      async () => {
        const items = await listed();
        return items.filter((r) => r.customerId === "erased").length === 2 ? items : undefined;
      },
      30_000,
      "the projector rewrote the erased customer's reservations",
    );
    // What is not personal is as it was; the other customer still reads.
    const amounts = (items: Reservation[]) => items.map((r) => [r.reservationId, r.amount]).sort();
    expect(amounts(after)).toEqual(amounts(before));
    expect(after.find((r) => r.customerId === kept)?.carNumber).toBe("53다3333");
    for (const r of after.filter((x) => x.customerId === "erased")) expect(r.carNumber).toBe("erased");

    const secrets = [gone, "51가1111", "52나2222"];
    const views = async () => {
      const answers = [
        await listed(),
        (await call(queries.url, "GET", `/parking-lots/${lot}/history?limit=100`)).body,
        ...(await Promise.all(
          before.map(
            async (r) => (await call(queries.url, "GET", `/reservations/${r.reservationId}/history`)).body,
          ),
        )),
      ];
      return Buffer.from(JSON.stringify(answers));
    };
    // No view, and (once the projector compacted after its rewrite) no file under DATA_DIR.
    await eventually(
      async () => {
        const stores = { views: await views(), ...filesOf(data.dir) };
        for (const [where, bytes] of Object.entries(stores))
          for (const secret of secrets)
            if (bytes.includes(Buffer.from(secret))) throw new Error(`${secret} in ${where}`);
        return true;
      },
      30_000,
      "no plaintext of the erased customer in any view or file",
    );
    // Nor in any role's log: paths carry the pseudonym (the id was in ten lines of them, issue 46).
    for (const role of [commands, queries]) expect(role.output()).toContain("request completed");
    const lines = (output: string) => output.split("\n");
    for (const role of [commands, projector, queries])
      expect(lines(role.output()).filter((line) => line.includes(gone))).toEqual([]);
  }, 120_000);
});
