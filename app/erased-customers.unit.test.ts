import type { Request, Response } from "express";
import { describe, expect, it } from "vitest";
import { type Principal, setPrincipal } from "../platform/auth/principal.js";
import { type DataKeys, MemoryDataKeys } from "../platform/data-keys/port.js";
import { ProblemError } from "../platform/http/problem.js";
import "./problem-types.js";
import { pseudonymizedPaths, refuseErasedCustomers } from "./erased-customers.js";
import { OPERATIONS } from "./surface/operations.js";

/** What the middleware passes on for a request of `principal` (undefined: anonymous). */
function outcomeFor(keys: MemoryDataKeys, principal?: Principal): unknown {
  const req = {} as Request;
  if (principal) setPrincipal(req, principal);
  let passed: unknown = "not called";
  refuseErasedCustomers(keys)(req, {} as Response, (error?: unknown) => {
    passed = error;
  });
  return passed;
}

describe("refuseErasedCustomers", () => {
  const keys = new MemoryDataKeys();
  keys.erase("gone");

  it("refuses an erased customer's token and session with 403 customer-erased", () => {
    for (const via of ["bearer", "session"] as const) {
      const refused = outcomeFor(keys, { sub: "gone", roles: ["customer"], via });
      expect(refused).toBeInstanceOf(ProblemError);
      expect((refused as ProblemError).problem).toBe("customer-erased");
      expect((refused as ProblemError).status).toBe(403);
    }
    // A caller without a staff role acts as a customer: checked too.
    expect(outcomeFor(keys, { sub: "gone", roles: [], via: "bearer" })).toBeInstanceOf(ProblemError);
  });

  it("passes other customers, anonymous callers, and staff whose sub is the erased id", () => {
    expect(outcomeFor(keys, { sub: "still-here", roles: ["customer"], via: "bearer" })).toBeUndefined();
    expect(outcomeFor(keys)).toBeUndefined();
    for (const role of ["operator", "attendant", "admin"])
      expect(outcomeFor(keys, { sub: "gone", roles: [role], via: "bearer" })).toBeUndefined();
  });
});

describe("refuseErasedCustomers on keys whose knowledge of erasures must be confirmed (PostgreSQL's)", () => {
  const customer: Principal = { sub: "gone", roles: ["customer"], via: "bearer" };
  const passed = (keys: Pick<DataKeys, "isErased" | "confirmed">, principal?: Principal) =>
    new Promise<unknown>((resolve) => {
      const req = {} as Request;
      if (principal) setPrincipal(req, principal);
      refuseErasedCustomers(keys)(req, {} as Response, resolve);
    });

  it("checks a signed-in caller once the confirmation came (it may bring the erasure), an anonymous one at once", async () => {
    let erased = false;
    let asked = 0;
    const keys = {
      isErased: () => erased,
      confirmed: () => {
        asked++;
        return Promise.resolve().then(() => {
          erased = true; // the confirmation brought the erasure this process had not heard of
        });
      },
    };
    expect(await passed(keys)).toBeUndefined();
    expect(asked, "anonymous requests never wait").toBe(0);
    const refused = await passed(keys, customer);
    expect((refused as ProblemError).problem).toBe("customer-erased");
    expect(asked).toBe(1);
  });

  it("answers 503 store-unavailable when the confirmation fails, and waits for nothing while trusted", async () => {
    const down = { isErased: () => false, confirmed: () => Promise.reject(new Error("down")) };
    const refused = await passed(down, customer);
    expect((refused as ProblemError).problem).toBe("store-unavailable");
    expect((refused as ProblemError).status).toBe(503);
    const trusted = { isErased: () => false, confirmed: () => undefined };
    expect(await passed(trusted, { ...customer, sub: "here" })).toBeUndefined();
  });
});

describe("pseudonymizedPaths", () => {
  const keys = new MemoryDataKeys();
  const logged = pseudonymizedPaths(OPERATIONS, (id) => keys.pseudonym(id));
  const p = (id: string) => `~${keys.pseudonym(id)}`;

  it("writes every customer id of a path as its pseudonym, under any route below it", () => {
    expect(logged("/customers/CUST1/coupons")).toBe(`/customers/${p("CUST1")}/coupons`);
    expect(logged("/customers/CUST1/erasure")).toBe(`/customers/${p("CUST1")}/erasure`);
    // What no route serves, a trailing slash, another case: as Express would route them.
    expect(logged("/customers/CUST1/no-such-thing")).toBe(`/customers/${p("CUST1")}/no-such-thing`);
    expect(logged("/customers/CUST1/")).toBe(`/customers/${p("CUST1")}/`);
    expect(logged("/Customers/CUST1/coupons")).toBe(`/Customers/${p("CUST1")}/coupons`);
    // Percent-encoded as clients send it: the pseudonym of the id the route reads.
    expect(logged("/customers/auth0%7Ccustomer-7/coupons")).toBe(
      `/customers/${p("auth0|customer-7")}/coupons`,
    );
    expect(logged("/customers/%E0%A4%A/coupons")).toBe(`/customers/${p("%E0%A4%A")}/coupons`);
  });

  it("leaves paths without a customer id as they are", () => {
    for (const path of ["/parking-lots/1", "/reservations", "/customers", "/healthz"])
      expect(logged(path)).toBe(path);
  });
});
