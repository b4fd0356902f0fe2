import { describe, expect, it } from "vitest";
import { type AccessRule, accessLookup } from "./access.js";

const RULES: readonly AccessRule[] = [
  { method: "GET", path: "/things", allow: "anonymous" },
  { method: "GET", path: "/things/:id", allow: ["reader", "admin"] },
  { method: "POST", path: "/things", allow: ["admin"] },
  { method: "GET", path: "/page", allow: "anonymous", when: (req) => req.get("accept") === "text/html" },
  { method: "GET", path: "/page", allow: ["admin"] },
  { method: "GET", path: "/docs/*rest", allow: "anonymous" },
];

describe("accessLookup", () => {
  const allowed = accessLookup(RULES, ["admin"]);

  it("takes the first rule matching method and path; HEAD counts as GET", () => {
    expect(allowed("GET", "/things")).toBe("anonymous");
    expect(allowed("HEAD", "/things")).toBe("anonymous");
    expect(allowed("GET", "/things/42")).toEqual(["reader", "admin"]);
    expect(allowed("POST", "/things")).toEqual(["admin"]);
    expect(allowed("GET", "/docs/swagger-ui.css")).toBe("anonymous");
  });

  it("denies by default: a route in no table needs the fallback roles", () => {
    expect(allowed("DELETE", "/things/42")).toEqual(["admin"]);
    expect(allowed("GET", "/things/42/secrets")).toEqual(["admin"]);
    expect(allowed("GET", "/unknown")).toEqual(["admin"]);
    // Encoded slashes do not sneak a deeper path past a one-segment rule.
    expect(allowed("GET", "/things/a%2Fb")).toEqual(["reader", "admin"]);
  });

  it("applies a conditional rule only to the requests it holds for", () => {
    const html = { get: (name: string) => (name === "accept" ? "text/html" : undefined) };
    const json = { get: () => "application/json" };
    expect(allowed("GET", "/page", html as never)).toBe("anonymous");
    expect(allowed("GET", "/page", json as never)).toEqual(["admin"]);
    expect(allowed("GET", "/page")).toEqual(["admin"]);
  });
});
