import { describe, expect, it } from "vitest";
import { advancedTo, Progress } from "./progress.js";

const at = (commit: number) => ({ commit, prepare: commit });

describe("Progress: the caught-up signal", () => {
  it("resolves when the processor commits the position, not when another one does", async () => {
    const progress = new Progress();
    let resolved = false;
    const waiting = advancedTo(progress, "reservations", at(5)).then(() => {
      resolved = true;
    });
    progress.advanced("parking-lots", at(9));
    progress.advanced("reservations", at(4));
    await Promise.resolve();
    expect(resolved).toBe(false);
    progress.advanced("reservations", at(7));
    await waiting;
    expect(resolved).toBe(true);
  });

  it("rejects with the signal's reason when the deadline comes first, and stops listening", async () => {
    const progress = new Progress();
    const controller = new AbortController();
    const waiting = advancedTo(progress, "reservations", at(5), controller.signal);
    controller.abort(new Error("deadline"));
    await expect(waiting).rejects.toThrow("deadline");
    const listeners = (progress as unknown as { events: { listenerCount(e: string): number } }).events;
    expect(listeners.listenerCount("advance")).toBe(0);
  });
});
