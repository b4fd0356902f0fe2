import { describe, expect, it } from "vitest";
import { parsePostgresUrl, poolConfig } from "./hosts.js";

describe("libpq's multi-host URLs for the pg driver", () => {
  it("splits the hosts, in order, with their ports (5432 when none), IPv6 in brackets", () => {
    const url = parsePostgresUrl(
      "postgres://app:s3cret@db1:5433,db2,[::1]:6000/parking?sslmode=require&target_session_attrs=read-write",
    );
    expect(url.hosts).toEqual([
      { host: "db1", port: 5433 },
      { host: "db2", port: 5432 },
      { host: "::1", port: 6000 },
    ]);
    expect(url.readWrite).toBe(true);
    // What pg reads: one host, the rest of the URL kept, the attribute pg does not know taken out.
    expect(url.connectionString).toBe("postgres://app:s3cret@db1:5433/parking?sslmode=require");
    expect(url.urlOf({ host: "::1", port: 6000 })).toBe(
      "postgres://app:s3cret@[::1]:6000/parking?sslmode=require",
    );
  });

  it("leaves a one-host URL to pg as it is, and refuses what libpq's syntax does not allow", () => {
    expect(poolConfig("postgresql://db/parking", { max: 3 })).toEqual({
      connectionString: "postgresql://db/parking",
      max: 3,
    });
    expect(parsePostgresUrl("postgres://db/parking").readWrite).toBe(false);
    expect(() => parsePostgresUrl("postgres://db1,/parking")).toThrow(/empty/);
    expect(() => parsePostgresUrl("postgres://db1:x/parking")).toThrow(/port/);
    expect(() => parsePostgresUrl("postgres://db1,db2/p?target_session_attrs=standby")).toThrow(
      /not supported/,
    );
  });

  it("gives a pool of several hosts a Client of its own that picks the host", () => {
    const config = poolConfig("postgres://db1,db2/parking?target_session_attrs=read-write", { max: 3 });
    expect(config.connectionString).toBe("postgres://db1:5432/parking");
    expect(config.Client).toBeDefined();
    expect(config.max).toBe(3);
  });
});
