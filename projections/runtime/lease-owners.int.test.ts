import { spawn } from "node:child_process";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { tempDataDir } from "../../test-support/service.js";
import { Leases } from "./leases.js";

/**
 * A process that crashed on this host holds no lease anyone must wait out, even while it is a
 * zombie: killed, but not yet reaped by its parent (in a container whose first process reaps late,
 * that lasts). It still answers kill(pid, 0), so only its state tells.
 */
describe("lease owners on this host", () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A child of a parent that never reaps it, killed: a zombie, until the parent goes. */
  async function zombie(): Promise<number> {
    const parent = spawn("sh", ["-c", "sleep 60 & echo $!; exec sleep 60"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    cleanups.push(() => {
      parent.kill("SIGKILL");
    });
    const pid = await new Promise<number>((resolve) =>
      parent.stdout.once("data", (data: Buffer) => resolve(Number(String(data).trim()))),
    );
    // Until the shell has become `sleep` (its exec), the shell itself may reap the killed child
    // (dash checks its background jobs between commands): kill it only once nothing will.
    const { readFileSync } = await import("node:fs");
    for (let i = 0; readFileSync(`/proc/${parent.pid}/comm`, "utf8").trim() !== "sleep"; i++) {
      if (i === 100) throw new Error("the parent never became sleep");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        throw new Error("the child was reaped: no zombie to test with");
      }
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return pid;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error("the killed child never became a zombie");
  }

  it.runIf(process.platform === "linux")(
    "takes at once a lease whose owner was killed but not yet reaped",
    async () => {
      const data = tempDataDir("parking-lease-owners-");
      const docs = await SqliteDocumentStore.open({ file: join(data.dir, "documents.sqlite") });
      cleanups.push(() => data.remove());
      cleanups.push(() => docs.close());
      const pid = await zombie();
      const crashed = new Leases(docs, {
        owner: `${hostname()}/${pid}/dead0001`,
        ttlMs: 60_000,
        renewMs: 5_000,
      });
      expect(await crashed.attempt("replay:reservations", null)).not.toBeNull();

      const next = new Leases(docs, {
        owner: `${hostname()}/${process.pid}/live0001`,
        ttlMs: 60_000,
        renewMs: 5_000,
      });
      // The lease has 60 s left, but its owner is dead: the next process need not wait it out.
      expect(await next.attempt("replay:reservations", null)).not.toBeNull();
    },
  );

  it("waits out a lease whose owner on this host is alive", async () => {
    const data = tempDataDir("parking-lease-owners-");
    const docs = await SqliteDocumentStore.open({ file: join(data.dir, "documents.sqlite") });
    cleanups.push(() => data.remove());
    cleanups.push(() => docs.close());
    const alive = spawn("sleep", ["60"], { stdio: "ignore" });
    cleanups.push(() => {
      alive.kill("SIGKILL");
    });
    const holder = new Leases(docs, {
      owner: `${hostname()}/${alive.pid}/live0002`,
      ttlMs: 60_000,
      renewMs: 5_000,
    });
    expect(await holder.attempt("replay:reservations", null)).not.toBeNull();
    const next = new Leases(docs, {
      owner: `${hostname()}/${process.pid}/live0003`,
      ttlMs: 60_000,
      renewMs: 5_000,
    });
    expect(await next.attempt("replay:reservations", null)).toBeNull();
  });
});
