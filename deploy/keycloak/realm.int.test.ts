import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { SESSION_LANDING_PATH } from "../../app/auth.js";
import { loadConfig } from "../../platform/config.js";
import { ACCESS_ROLES } from "../../schemas/actor.js";

/**
 * Keycloak cannot run here, so its realm import and the compose wiring are checked against what
 * the service and the page expect: the roles the access tables use, demo users of each role, the
 * page's public PKCE client with the redirect the page sends, the audience the service verifies,
 * and services that name the issuer the tokens will carry and fetch keys from inside the network.
 */
interface Realm {
  realm: string;
  roles: { realm: { name: string }[] };
  users: { username: string; enabled: boolean; realmRoles: string[]; credentials: unknown[] }[];
  clients: {
    clientId: string;
    publicClient: boolean;
    standardFlowEnabled: boolean;
    implicitFlowEnabled: boolean;
    directAccessGrantsEnabled: boolean;
    redirectUris?: string[];
    webOrigins?: string[];
    attributes?: Record<string, string>;
    defaultClientScopes: string[];
    protocolMappers: { protocolMapper: string; config: Record<string, string> }[];
  }[];
}

const realm = JSON.parse(readFileSync(new URL("./parking-realm.json", import.meta.url), "utf8")) as Realm;
const compose = parseYaml(readFileSync(new URL("../../docker-compose.yml", import.meta.url), "utf8"), {
  merge: true,
}) as {
  services: Record<string, { command?: string[]; environment?: Record<string, string>; volumes?: string[] }>;
};
const defaults = loadConfig({});
const client = (id: string) => {
  const found = realm.clients.find((c) => c.clientId === id);
  if (!found) throw new Error(`no client ${id} in the realm`);
  return found;
};
const audiences = (id: string) =>
  client(id)
    .protocolMappers.filter((m) => m.protocolMapper === "oidc-audience-mapper")
    .filter((m) => m.config["access.token.claim"] === "true")
    .map((m) => m.config["included.custom.audience"]);

describe("the Keycloak realm of docker compose", () => {
  it("has the roles the service authorizes, and demo users of each", () => {
    // Every role the service authorizes (schemas/actor.ts), and no other.
    expect(realm.roles.realm.map((r) => r.name).sort()).toEqual([...ACCESS_ROLES].sort());
    const withRole = (role: string) => realm.users.filter((u) => u.enabled && u.realmRoles.includes(role));
    expect(withRole("customer")).toHaveLength(2);
    expect(withRole("operator")).toHaveLength(1);
    // The demo operator runs every lot (no lot grant claim is mapped in the demo realm).
    expect(withRole("admin")).toHaveLength(1);
    for (const user of realm.users) expect(user.credentials.length, user.username).toBe(1);
    // Realm roles reach access tokens as realm_access.roles, the default roles claim.
    expect(defaults.authRolesClaims).toContain("realm_access.roles");
  });

  it("lets the page sign in with Authorization Code + PKCE at the redirect it sends", () => {
    const page = client(defaults.pageOidcClientId);
    expect(page).toMatchObject({
      publicClient: true,
      standardFlowEnabled: true,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: false,
    });
    expect(page.attributes?.["pkce.code.challenge.method"]).toBe("S256");
    // web/src/oidc.ts redirects to `${location.origin}/control-center`; the gateway is on :8080.
    expect(page.redirectUris).toContain(`http://localhost:8080${SESSION_LANDING_PATH}`);
    expect(page.webOrigins).toContain("http://localhost:8080");
    expect(page.defaultClientScopes).toEqual(expect.arrayContaining(["basic", "roles", "web-origins"]));
  });

  it("puts the audience the service verifies into every client's access tokens", () => {
    for (const c of realm.clients) expect(audiences(c.clientId), c.clientId).toContain(defaults.authAudience);
    expect(client("scripted-tests").directAccessGrantsEnabled).toBe(true);
  });

  it("is imported at start, and every API service trusts the issuer its tokens name", () => {
    const keycloak = compose.services.keycloak;
    expect(keycloak?.command).toEqual(expect.arrayContaining(["start-dev", "--import-realm"]));
    expect(keycloak?.volumes?.some((v) => v.startsWith("./deploy/keycloak:/opt/keycloak/data/import"))).toBe(
      true,
    );
    const publicUrl = keycloak?.environment?.KC_HOSTNAME;
    const port = /--http-port=(\d+)/.exec(keycloak?.command?.join(" ") ?? "")?.[1];
    for (const role of ["command-api", "query-api", "projector"]) {
      const env = compose.services[role]?.environment ?? {};
      expect(env.AUTH_ISSUER, role).toBe(`${publicUrl}/realms/${realm.realm}`);
      expect(env.AUTH_JWKS_URL, role).toBe(
        `http://keycloak:${port}/realms/${realm.realm}/protocol/openid-connect/certs`,
      );
      expect(env.AUTH_AUDIENCE ?? defaults.authAudience, role).toBe(audiences("control-center")[0]);
      expect(env.PAGE_OIDC_CLIENT_ID, role).toBe("control-center");
      expect(env.IDEMPOTENCY_SECRET, role).toBeTruthy();
    }
  });
});
