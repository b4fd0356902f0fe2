import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { EventLoopWatch } from "./event-loop-watch.js";
import { Metrics } from "./metrics.js";

const ROOT = new URL("..", import.meta.url).pathname;

/** Blocks this thread for `ms` (what a synchronous loop in a handler does). */
function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spinning
  }
}

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe("a stalled event loop is seen and ended", () => {
  /** Starts test-support/stalled-process.ts with `thread` blocking, sends it SIGTERM once blocked. */
  async function stalledProcess(thread: "main" | "processors" | "none", boundMs: number) {
    const child = spawn(process.execPath, ["--import", "tsx", "test-support/stalled-process.ts"], {
      cwd: ROOT,
      env: { ...process.env, EVENT_LOOP_STALL_MS: String(boundMs), STALLED_THREAD: thread },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    const deadline = Date.now() + 30_000;
    while (!out.includes("blocking") && Date.now() < deadline) await sleep(50);
    expect(out).toContain("blocking");
    const blockedAt = performance.now();
    if (thread === "main") child.kill("SIGTERM");
    if (thread === "none") {
      // The whole process paused past the bound, then resumed: no thread was blocked.
      child.kill("SIGSTOP");
      await sleep(boundMs * 2);
      child.kill("SIGCONT");
    }
    const waitMs = thread === "none" ? boundMs * 2 : boundMs + 15_000;
    const ended = await Promise.race([exited, sleep(waitMs).then(() => undefined)]);
    const tookMs = performance.now() - blockedAt;
    if (!ended) child.kill("SIGKILL");
    const errors = out
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.level === 50);
    return { ended, tookMs, errors, out };
  }

  it("a request thread blocked for good is ended by the watchdog thread (SIGTERM cannot: its handler never runs), with an ERROR naming the request that was running", async () => {
    const boundMs = 1_500;
    const { ended, tookMs, errors, out } = await stalledProcess("main", boundMs);
    expect(ended, out).toEqual({ code: null, signal: "SIGKILL" });
    // Not the SIGTERM handler (it would exit 0 at once): the watchdog, past the bound.
    expect(tookMs).toBeGreaterThanOrEqual(boundMs - 600);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      thread: "watchdog",
      blockedThread: "main",
      boundMs,
      route: "GET /reservations",
      inFlight: [
        { route: "GET /reservations", ms: expect.any(Number) },
        { route: "GET /parking-lots", ms: expect.any(Number) },
      ],
    });
    expect(errors[0]?.stalledMs).toBeGreaterThan(boundMs);
    expect(String(errors[0]?.msg)).toMatch(/blocked for \d+ ms .*ending the process/);
  }, 60_000);

  it("the processors thread is watched the same way: blocked for good, it ends the process though the request thread is free", async () => {
    const { ended, errors, out } = await stalledProcess("processors", 1_500);
    expect(ended, out).toEqual({ code: null, signal: "SIGKILL" });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ thread: "watchdog", blockedThread: "processors", inFlight: [] });
  }, 60_000);

  it("a process paused as a whole (SIGSTOP) past the bound is not ended when it resumes: no thread was blocked", async () => {
    const { ended, errors, out } = await stalledProcess("none", 1_500);
    expect(ended, out).toBeUndefined();
    expect(errors.filter((e) => e.thread === "watchdog")).toEqual([]);
  }, 60_000);

  it("a loop that came back after a delay past the bound is logged at ERROR, counted in /metrics, and makes the process not alive", async () => {
    const { logger, lines } = capturingLogger();
    const metrics = new Metrics({ defaultMetrics: false });
    const watch = new EventLoopWatch(400, logger).start();
    metrics.watchEventLoop(watch);
    try {
      await sleep(150);
      expect(watch.liveness()).toEqual({ ok: true });
      const left = watch.board.enter("GET /reservations");
      blockFor(1_000);
      left();
      await sleep(200); // the next sample reads the delay
      const live = watch.liveness();
      expect(live.ok).toBe(false);
      expect(!live.ok && live.detail).toMatch(/blocked for \d+ ms .* past EVENT_LOOP_STALL_MS \(400\)/);
      const errors = lines.filter((line) => line.level === 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ blockedThread: "main", boundMs: 400 });
      expect(Number(errors[0]?.stalledMs)).toBeGreaterThanOrEqual(800);
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/^parking_event_loop_stalls_total 1$/m);
      const delay = Number(/^parking_event_loop_delay_max_seconds (\S+)$/m.exec(text)?.[1]);
      expect(delay).toBeGreaterThanOrEqual(0.8);
      // It stays not alive: a probe every few seconds sees it, and the restart clears it.
      await sleep(300);
      expect(watch.liveness().ok).toBe(false);
    } finally {
      await watch.stop();
    }
  });

  it("a loop that only ever waits briefly stays alive and counts nothing", async () => {
    const { logger, lines } = capturingLogger();
    const watch = new EventLoopWatch(600, logger).start();
    try {
      for (let i = 0; i < 5; i++) {
        blockFor(50);
        await sleep(60);
      }
      expect(watch.liveness()).toEqual({ ok: true });
      expect(watch.stalls()).toBe(0);
      expect(lines.filter((line) => line.level === 50)).toEqual([]);
    } finally {
      await watch.stop();
    }
  });
});
