import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { defaultAuthFor } from "../test-support/auth.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";

/**
 * Issue 69, takings for every lot: with payments off (the default), what the lot priced is
 * collected at its gate, and its money view says so, per day, as JSON and as CSV. Issue 71: the
 * stay's coupon, pending from the booking, is spendable once the stay earned it.
 */
const data = tempDataDir("parking-lot-takings-");
let service: RunningService;
beforeAll(async () => {
  service = await startTestService(data.dir);
});
afterAll(async () => {
  await service?.shutdown("test over", { drain: false });
  data.remove();
});

interface Money {
  days: { day: string; amounts: Record<string, number | string>[] }[];
  totals: { amounts: Record<string, number | string>[] };
}

describe("a lot's takings with payments off", () => {
  it("counts an open-ended stay's price as collected on site, in JSON and CSV; its coupon pending until earned", async () => {
    const lot = "takings-1";
    const registered = await call(service.url, "POST", "/parking-lots", {
      parkingLotId: lot,
      name: "Takings",
      capacity: 2,
      hourlyRate: 6000,
    });
    expect(registered.status).toBe(201);
    const booked = await call<{ reservationId: string; position: string }>(
      service.url,
      "POST",
      `/parking-lots/${lot}/reservations`,
      { customerId: "CUST1", carNumber: "12가3456" },
      { "Idempotency-Key": "takings-1" },
    );
    expect(booked.status).toBe(201);
    const id = booked.body.reservationId;
    // The booking's coupon is issued pending: ISSUED, not spendable, no spendableFrom yet.
    const pending = await eventually(async () => {
      const page = await call<{ items: { reservationId: string; status: string; spendable: boolean }[] }>(
        service.url,
        "GET",
        "/customers/CUST1/coupons",
      );
      return page.body.items.find((c) => c.reservationId === id);
    });
    expect(pending).toMatchObject({ status: "ISSUED", spendable: false });
    expect(pending).not.toHaveProperty("spendableFrom");
    expect((await call(service.url, "POST", `/parking-lots/${lot}/reservations/${id}/check-in`)).status).toBe(
      200,
    );
    const out = await call<{ position: string }>(
      service.url,
      "POST",
      `/parking-lots/${lot}/reservations/${id}/check-out`,
    );
    expect(out.status).toBe(200);
    const view = await call<{ amount: number }>(
      service.url,
      "GET",
      `/reservations/${id}?minPosition=${out.body.position}`,
    );
    const price = view.body.amount;
    expect(price).toBeGreaterThan(0);

    const path = `/parking-lots/${lot}/money?minPosition=${out.body.position}`;
    const money = await call<Money>(service.url, "GET", path);
    expect(money.status).toBe(200);
    expect(money.body.totals.amounts).toEqual([
      {
        currency: "KRW",
        revenue: price,
        refunds: 0,
        net: price,
        collectedByProcessor: 0,
        collectedOnSite: price,
        bookings: price,
        overstays: 0,
        driveUps: 0,
      },
    ]);
    const day = money.body.days[0]?.day;
    const csv = await fetch(`${service.url}${path}`, {
      headers: { accept: "text/csv", ...(await defaultAuthFor(service.url)) },
    });
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    expect((await csv.text()).split("\r\n")).toEqual([
      "day,currency,revenue,collectedByProcessor,collectedOnSite,bookings,overstays,driveUps,refunds,net,failedPayments,failedSteps",
      `${day},KRW,${price},0,${price},${price},0,0,0,${price},0,0`,
      `total,KRW,${price},0,${price},${price},0,0,0,${price},0,0`,
      "",
    ]);
  });
});
