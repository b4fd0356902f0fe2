import { describe, expect, it } from "vitest";
import { principalIdOf } from "./middleware.js";
import { RESERVED_CUSTOMER_PREFIX } from "./reserved-customers.js";
import { InvalidTokenError, type VerifiedToken } from "./verifier.js";

/**
 * Issue 49: drive-up stays are booked for `drive-up:{reservationId}` (issue 66; `drive-up:{lot}`
 * before); no token signs in as such a customer.
 */

const token = (sub: string, roles: readonly string[]): VerifiedToken => ({
  sub,
  customerId: sub,
  roles,
  grants: [],
  emptyRolesClaims: [],
  claims: { sub },
  header: { alg: "RS256" },
});
const principal = principalIdOf("sub");

describe("the customer ids the service keeps for itself", () => {
  it("refuses a customer token naming a drive-up customer, a stay's or an old lot's", () => {
    for (const roles of [["customer"], []])
      for (const id of ["du-F00xYYGmDwM_NwVrv6rpooNs8hOrjNPk", "gangnam-1"])
        expect(() => principal(token(`${RESERVED_CUSTOMER_PREFIX}${id}`, roles))).toThrow(InvalidTokenError);
  });

  it("keeps every other customer id, and staff whatever their sub", () => {
    expect(principal(token("drive-up", ["customer"]))).toBe("drive-up");
    expect(principal(token("auth0|drive-up:1", ["customer"]))).toBe("auth0|drive-up:1");
    expect(principal(token(`${RESERVED_CUSTOMER_PREFIX}ops`, ["operator"]))).toBe(
      `${RESERVED_CUSTOMER_PREFIX}ops`,
    );
  });
});
