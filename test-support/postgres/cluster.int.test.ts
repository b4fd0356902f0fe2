import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresCluster, startPostgres } from "./cluster.js";

describe("the tests' PostgreSQL cluster", () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => cluster?.stop());

  it("answers on loopback, and makes databases", async () => {
    const url = await cluster.createDatabase("parking_probe");
    expect(url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/parking_probe$/);
    const out = cluster.run("psql", [
      url,
      "-tAc",
      "SELECT current_database(), current_setting('listen_addresses')",
    ]);
    expect(out.trim()).toBe("parking_probe|127.0.0.1");
  });
});
