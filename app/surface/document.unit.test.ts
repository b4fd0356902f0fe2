import { describe, expect, it } from "vitest";
import type { AccessLookup } from "../../platform/auth/access.js";
import { serviceAccess } from "../access.js";
import { openApiDocument } from "./document.js";

type Operation = { security: unknown; "x-roles"?: string[]; responses: Record<string, unknown> };
const operation = (access: AccessLookup, method: string, path: string): Operation =>
  (openApiDocument(access) as { paths: Record<string, Record<string, Operation>> }).paths[path]?.[
    method
  ] as Operation;

describe("the OpenAPI document's security", () => {
  it("is read from the access lookup it is given, not from the table of operations", () => {
    const operatorsOnly: AccessLookup = () => ["operator"];
    const listing = operation(operatorsOnly, "get", "/parking-lots");
    expect(listing.security).toEqual([{ bearerAuth: ["operator"] }]);
    expect(listing["x-roles"]).toEqual(["operator"]);
    expect(Object.keys(listing.responses)).toContain("403");

    const everyone: AccessLookup = () => "anonymous";
    const register = operation(everyone, "post", "/parking-lots");
    expect(register.security).toEqual([]);
    expect(register["x-roles"]).toBeUndefined();
  });

  it("says of the service's operations what its access tables enforce: one requirement per role", () => {
    expect(operation(serviceAccess, "put", "/parking-lots/{parkingLotId}/capacity").security).toEqual([
      { bearerAuth: ["operator"] },
      { bearerAuth: ["admin"] },
    ]);
    expect(operation(serviceAccess, "get", "/reservations").security).toEqual([
      { bearerAuth: ["customer"] },
      { bearerAuth: ["operator"] },
      { bearerAuth: ["attendant"] },
      { bearerAuth: ["admin"] },
    ]);
    // A lot's money (issue 38): its operators and admins, never customers or attendants.
    expect(operation(serviceAccess, "get", "/parking-lots/{parkingLotId}/money").security).toEqual([
      { bearerAuth: ["operator"] },
      { bearerAuth: ["admin"] },
    ]);
    // The browser's HTML page is public (a conditional rule); the operation, for API clients, is not.
    expect(operation(serviceAccess, "get", "/control-center")["x-roles"]).toEqual(["operator", "admin"]);
    expect(operation(serviceAccess, "get", "/parking-lots/{parkingLotId}").security).toEqual([]);
  });
});

/** Every string in `value`, at any depth (descriptions, titles, summaries, examples). */
const stringsIn = (value: unknown): string[] =>
  typeof value === "string"
    ? [value]
    : value !== null && typeof value === "object"
      ? Object.values(value).flatMap(stringsIn)
      : [];

describe("the OpenAPI document's text", () => {
  it("names none of the team's tracker issues: its readers are outside the team", () => {
    const tracker = stringsIn(openApiDocument(serviceAccess)).filter((s) => /\bissues? [0-9]/i.test(s));
    expect(tracker).toEqual([]);
  });
});
