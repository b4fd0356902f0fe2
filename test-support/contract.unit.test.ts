import { describe, expect, it } from "vitest";
import { contractViolations } from "./contract.js";

const json = (extra: Record<string, string> = {}) =>
  new Headers({ "content-type": "application/json; charset=utf-8", "x-correlation-id": "c-1", ...extra });
const problem = (extra: Record<string, string> = {}) =>
  new Headers({ "content-type": "application/problem+json", "x-correlation-id": "c-1", ...extra });

const lot = {
  parkingLotId: "gangnam-1",
  name: "강남역 공영주차장",
  capacity: 120,
  timeZone: "UTC",
  maxActivePerCustomer: 3,
  position: "42",
};

describe("the response check against the OpenAPI document", () => {
  it("accepts a documented response", async () => {
    const headers = json({ location: "/parking-lots/gangnam-1" });
    expect(
      await contractViolations({ method: "POST", path: "/parking-lots", status: 201, headers, body: lot }),
    ).toEqual([]);
  });

  it("flags a status the operation does not document", async () => {
    const violations = await contractViolations({
      method: "GET",
      path: "/healthz",
      status: 418,
      headers: json(),
      body: { status: "ok" },
    });
    expect(violations.join()).toMatch(/418 is not documented for getLiveness/);
  });

  it("flags a body that breaks the schema", async () => {
    const violations = await contractViolations({
      method: "POST",
      path: "/parking-lots",
      status: 201,
      headers: json({ location: "/parking-lots/gangnam-1" }),
      body: { ...lot, capacity: "120" },
    });
    expect(violations.join()).toMatch(/body\/capacity must be integer/);
  });

  it("flags a problem document that breaks the Problem schema (application/problem+json bodies too)", async () => {
    const violations = await contractViolations({
      method: "POST",
      path: "/parking-lots/gangnam-1/reservations/r-1/check-in",
      status: 409,
      headers: problem(),
      body: { type: "/problems/reservation-not-active", title: "Reservation not active", status: "CANCELED" },
    });
    expect(violations.join()).toMatch(/body\/status must be integer/);
  });

  it("flags a problem type the operation does not list for that status, by name", async () => {
    const check = (path: string, status: number, type: string) =>
      contractViolations({
        method: "POST",
        path,
        status,
        headers: problem(),
        body: { type, title: "t", status },
      });
    expect(await check("/parking-lots/gangnam-1/reservations", 409, "/problems/price-changed")).toEqual([]);
    expect(
      (await check("/parking-lots/gangnam-1/reservations", 409, "/problems/capacity-too-low")).join("\n"),
    ).toMatch(
      /problem type \/problems\/capacity-too-low is not one reserveParking documents for 409 \(documented: .*\/problems\/parking-lot-full/,
    );
    // A documented status, but not this type's: unknown lot on a check-out is listed; 503 of a
    // sign-in link is the identity provider's, not the stores'.
    expect(
      await check(
        "/parking-lots/gangnam-1/reservations/r-1/check-out",
        404,
        "/problems/parking-lot-not-found",
      ),
    ).toEqual([]);
    expect((await check("/sign-out", 503, "/problems/store-unavailable")).join()).toMatch(
      /store-unavailable is not one signOut documents for 503/,
    );
  });

  it("flags a missing required header and an undocumented content type", async () => {
    const violations = await contractViolations({
      method: "POST",
      path: "/parking-lots",
      status: 201,
      headers: new Headers({ "content-type": "text/plain" }),
      body: "ok",
    });
    expect(violations.join("\n")).toMatch(/content type "text\/plain"/);
    expect(violations.join("\n")).toMatch(/x-correlation-id/i);
  });

  it("flags a header the response does not declare, but not the standard and security ones", async () => {
    const headers = json({
      location: "/parking-lots/gangnam-1",
      "x-powered-by": "Express",
      "set-cookie": "a=b",
      date: "Mon, 23 Nov 2026 10:00:00 GMT",
      "x-content-type-options": "nosniff",
      "access-control-allow-origin": "https://desk.example",
    });
    const violations = await contractViolations({
      method: "POST",
      path: "/parking-lots",
      status: 201,
      headers,
      body: lot,
    });
    expect(violations).toEqual([
      expect.stringMatching(/header set-cookie is not declared for registerParkingLot 201/),
      expect.stringMatching(/header x-powered-by is not declared for registerParkingLot 201/),
    ]);
  });

  it("accepts the rate-limit headers on any answer of a counted operation, and Set-Cookie where declared", async () => {
    const rateLimit = {
      ratelimit: '"per-address"; r=2999; t=60, "per-principal"; r=1199; t=60',
      "ratelimit-policy": '"per-address"; q=3000; w=60; pk=:ZTNiMGM0NDI5OGZj:',
    };
    expect(
      await contractViolations({
        method: "GET",
        path: "/parking-lots/gangnam-1",
        status: 404,
        headers: problem(rateLimit),
        body: { type: "/problems/parking-lot-not-found", title: "Parking lot not found", status: 404 },
      }),
    ).toEqual([]);
    expect(
      await contractViolations({
        method: "POST",
        path: "/sign-out",
        status: 200,
        headers: new Headers({
          "content-type": "text/html; charset=utf-8",
          "x-correlation-id": "c-1",
          "set-cookie": "parking_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict",
          ...rateLimit,
        }),
        body: "<!doctype html>",
      }),
    ).toEqual([]);
    // Health probes are not counted: a rate-limit header there is not the document's.
    const probe = await contractViolations({
      method: "GET",
      path: "/healthz",
      status: 200,
      headers: json(rateLimit),
      body: { status: "ok" },
    });
    expect(probe.join("\n")).toMatch(/header ratelimit is not declared for getLiveness 200/);
  });

  it("flags a 405 whose Allow leaves out a documented method", async () => {
    const violations = await contractViolations({
      method: "PUT",
      path: "/parking-lots",
      status: 405,
      headers: problem({ allow: "POST" }),
      body: {},
    });
    expect(violations.join()).toMatch(/Allow "POST" but the document has GET, POST/);
  });

  it("flags an answer to a method a documented path does not have", async () => {
    const violations = await contractViolations({
      method: "PATCH",
      path: "/reservations",
      status: 200,
      headers: json(),
      body: {},
    });
    expect(violations.join()).toMatch(/has no patch operation/);
  });
});
