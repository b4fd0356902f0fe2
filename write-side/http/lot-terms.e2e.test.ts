import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../../app/server.js";
import { ANONYMOUS, customerHeaders } from "../../test-support/auth.js";
import { call, startTestService, tempDataDir } from "../../test-support/service.js";

/**
 * An operator changes a lot's rate and per-customer limit over HTTP: bookings made afterwards are
 * priced and counted by the new terms, those made before keep theirs, a client still sending the
 * old quote is told both, every view of the lot shows the new terms, and the audit trail says it.
 */
const DAY = new Date(Date.now() + 2 * 24 * 3_600_000).toISOString().slice(0, 10);
const at = (hhmm: string) => `${DAY}T${hhmm}:00.000Z`;
const LOT = "terms-1";

describe("an operator changes a lot's terms", () => {
  const data = tempDataDir("parking-terms-");
  let service: RunningService;
  let position = "0";

  beforeAll(async () => {
    service = await startTestService(data.dir);
    const lot = { parkingLotId: LOT, name: "역삼 요금 주차장", capacity: 5, hourlyRate: 1000 };
    expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  const reserve = async (who: string, from: string, until: string, amount?: number) => {
    const answer = await call<{ reservationId: string; amount: number; position: string; detail?: string }>(
      service.url,
      "POST",
      `/parking-lots/${LOT}/reservations`,
      { carNumber: "10더8612", startsAt: at(from), endsAt: at(until), ...(amount ? { amount } : {}) },
      await customerHeaders(data.dir, who),
    );
    if (answer.status === 201) position = answer.body.position;
    return answer;
  };
  const lot = async () =>
    (
      await call<{ hourlyRate?: number; maxActivePerCustomer?: number }>(
        service.url,
        "GET",
        `/parking-lots/${LOT}?minPosition=${position}`,
        undefined,
        ANONYMOUS,
      )
    ).body;

  it("a new rate prices the bookings made from then on; an old quote gets price-changed naming both", async () => {
    const before = await reserve("CUST1", "10:00", "11:00", 1000);
    expect(before.status).toBe(201);
    expect(await lot()).toMatchObject({ hourlyRate: 1000, maxActivePerCustomer: 4 });

    const byCustomer = await call(
      service.url,
      "PUT",
      `/parking-lots/${LOT}/rate`,
      { hourlyRate: 1 },
      await customerHeaders(data.dir, "CUST1"),
    );
    expect(byCustomer.status).toBe(403);

    const changed = await call<{ hourlyRate: number; position: string }>(
      service.url,
      "PUT",
      `/parking-lots/${LOT}/rate`,
      { hourlyRate: 2000 },
    );
    expect(changed.status).toBe(200);
    expect(changed.body.hourlyRate).toBe(2000);
    position = changed.body.position;
    expect((await lot()).hourlyRate).toBe(2000);

    // The quote follows the new rate.
    const quote = await call<{ amount: number }>(
      service.url,
      "GET",
      `/parking-lots/${LOT}/availability?from=${encodeURIComponent(at("12:00"))}&until=${encodeURIComponent(at("13:00"))}&minPosition=${position}`,
      undefined,
      ANONYMOUS,
    );
    expect(quote.body.amount).toBe(2000);

    const stale = await reserve("CUST2", "12:00", "13:00", 1000);
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ type: "/problems/price-changed", quote: 2000, offered: 1000 });
    expect(stale.body.detail).toContain("2000");
    expect(stale.body.detail).toContain("1000");
    const fresh = await reserve("CUST2", "12:00", "13:00", 2000);
    expect(fresh.status).toBe(201);
    expect(fresh.body.amount).toBe(2000);

    // The booking made before keeps its price.
    const kept = await call<{ amount: number }>(
      service.url,
      "GET",
      `/reservations/${before.body.reservationId}?minPosition=${position}`,
    );
    expect(kept.body.amount).toBe(1000);

    // The same rate again changes nothing (no new fact in the trail).
    const again = await call(service.url, "PUT", `/parking-lots/${LOT}/rate`, { hourlyRate: 2000 });
    expect(again.status).toBe(200);
  });

  it("a lowered per-customer limit refuses new bookings over it and keeps those made", async () => {
    expect((await reserve("CUST3", "14:00", "15:00")).status).toBe(201);
    expect((await reserve("CUST3", "15:00", "16:00")).status).toBe(201);
    const changed = await call<{ maxActivePerCustomer: number; position: string }>(
      service.url,
      "PUT",
      `/parking-lots/${LOT}/customer-limit`,
      { maxActivePerCustomer: 1 },
    );
    expect(changed.status).toBe(200);
    position = changed.body.position;
    expect((await lot()).maxActivePerCustomer).toBe(1);
    const over = await reserve("CUST3", "16:00", "17:00");
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ type: "/problems/too-many-active-reservations" });
    const invalid = await call<{ errors: { field: string }[] }>(
      service.url,
      "PUT",
      `/parking-lots/${LOT}/customer-limit`,
      { maxActivePerCustomer: 0 },
    );
    expect(invalid.status).toBe(400);
  });

  it("payment terms (issue 38): an operator sets them, a repeat changes nothing, a bad field is a 400 naming it", async () => {
    const terms = {
      currency: "KRW",
      deposit: 10000,
      cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
      noShowFee: 5000,
    };
    const path = `/parking-lots/${LOT}/payment-terms`;
    const byCustomer = await call(service.url, "PUT", path, terms, await customerHeaders(data.dir, "CUST1"));
    expect(byCustomer.status).toBe(403);
    const changed = await call<{ terms: unknown; position: string }>(service.url, "PUT", path, terms);
    expect(changed.status).toBe(200);
    expect(changed.body.terms).toEqual(terms);
    const again = await call<{ position: string }>(service.url, "PUT", path, terms);
    expect(again.status).toBe(200);
    position = changed.body.position;
    expect(await lot()).toMatchObject({ paymentTerms: terms });
    const invalid = await call<{ errors: { field: string }[] }>(service.url, "PUT", path, {
      ...terms,
      cancellation: { freeUntilMinutesBefore: 60, feePercent: 150 },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors.map((e) => e.field).join(" ")).toContain("feePercent");
    const unknown = await call<{ type: string }>(
      service.url,
      "PUT",
      "/parking-lots/no-such-lot/payment-terms",
      terms,
    );
    expect(unknown.status).toBe(404);
  });

  it("the lot's audit trail says who changed which term", async () => {
    const history = await call<{ items: { type: string; summary: string }[] }>(
      service.url,
      "GET",
      `/parking-lots/${LOT}/history?limit=50`,
    );
    expect(history.status).toBe(200);
    const sentences = history.body.items.map((item) => item.summary);
    expect(sentences.filter((s) => s.includes("changed the hourly rate"))).toHaveLength(1);
    expect(sentences.find((s) => s.includes("changed the hourly rate"))).toContain("from 1000 to 2000");
    expect(sentences.find((s) => s.includes("per-customer limit"))).toContain("from 4 to 1");
    // Set once: the repeat appended nothing.
    const terms = sentences.filter((s) => s.includes("changed the payment terms"));
    expect(terms).toHaveLength(1);
    expect(terms[0]).toContain(
      "deposit 10000, cancel free until 60 minutes before the start then a 50% fee, no-show fee 5000",
    );
  });
});
