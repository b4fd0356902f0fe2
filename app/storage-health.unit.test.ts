import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { DocumentStoreStorageError } from "../document-store/port.js";
import { EventStoreStorageError } from "../event-store/errors.js";
import { DataKeysStorageError } from "../platform/data-keys/port.js";
import { Metrics } from "../platform/metrics.js";
import { StorageHealth } from "./storage-health.js";

const dir = mkdtempSync(join(tmpdir(), "storage-health-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gauges = async (metrics: Metrics) =>
  (await metrics.registry.getSingleMetric("parking_storage_unavailable")?.get())?.values.map(
    (v) => `${v.labels.store}/${v.labels.reason}=${v.value}`,
  );

describe("storage health", () => {
  it("keeps a gauge per store: a second store meeting the full disk does not hide the first, and one write that succeeds clears them all", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    // DATA_DIR not writable: a directory that does not exist makes the probe fail.
    const health = new StorageHealth(join(dir, "missing"), logger, metrics);

    health.failed("event-store", new EventStoreStorageError("no space", "full"));
    health.failed("event-store", new EventStoreStorageError("no space", "full"));
    health.failed("document-store", new DocumentStoreStorageError("no space", "full"));
    health.dataKeysWrite(new DataKeysStorageError("read-only", "read-only"));
    health.failed("event-store", new Error("not about storage"));

    expect(await gauges(metrics)).toEqual([
      "event-store/full=1",
      "document-store/full=1",
      "data-keys/read-only=1",
    ]);
    const check = health.check();
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(/^event-store: .*; document-store: .*; data-keys: .*/);
    expect(lines.filter((l) => l.msg.startsWith("storage unavailable"))).toHaveLength(3);

    health.succeeded();
    expect(await gauges(metrics)).toEqual([
      "event-store/full=0",
      "document-store/full=0",
      "data-keys/read-only=0",
    ]);
    expect(health.check()).toEqual({ ok: true });
    expect(lines.filter((l) => l.msg.startsWith("storage available again"))).toHaveLength(1);
  });

  it("a store whose reason changes moves its gauge from the old reason to the new", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const health = new StorageHealth(join(dir, "missing"), pino({ level: "silent" }), metrics);
    health.failed("event-store", new EventStoreStorageError("no space", "full"));
    health.failed("event-store", new EventStoreStorageError("read-only", "read-only"));
    expect(await gauges(metrics)).toEqual(["event-store/full=0", "event-store/read-only=1"]);
  });
});
