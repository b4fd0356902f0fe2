import { describe, expect, it } from "vitest";
import { htmlHeaders } from "./page-routes.js";

const connectSrc = (csp: string | undefined) => /connect-src ([^;]+)/.exec(csp ?? "")?.[1];

describe("the page's Content-Security-Policy", () => {
  it("lets the page connect only to its own origin when it signs in with a link", () => {
    expect(connectSrc(htmlHeaders({ mode: "link" })["Content-Security-Policy"])).toBe("'self'");
  });

  it("also lets it reach the OpenID Connect provider's origin (discovery and token endpoint), and no other", () => {
    const headers = htmlHeaders({
      mode: "oidc",
      issuer: "http://localhost:8180/realms/parking",
      clientId: "control-center",
      scope: "openid",
      allowHttp: false,
    });
    expect(connectSrc(headers["Content-Security-Policy"])).toBe("'self' http://localhost:8180");
    expect(headers["Content-Security-Policy"]).toContain("script-src 'self';");
  });
});
