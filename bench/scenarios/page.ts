import type { ControlCenterView } from "../../schemas/read-models.js";
import { launchBrowser } from "../../test-support/browser.js";
import { ensureWebBuilt } from "../../test-support/web-build.js";
import { benchSignInUrl } from "../lib/auth.js";
import { lotIds, reserveBody } from "../lib/domain.js";
import { achievedRate, fixedRate, nowMs, rateFigures } from "../lib/fixed-rate.js";
import { HttpClient } from "../lib/http.js";
import { log } from "../lib/log.js";
import { cpuMeter } from "../lib/process-stats.js";
import { benchDataDir, startService } from "../lib/processes.js";
import { registerLots, waitForCatchUp } from "../lib/service-api.js";
import { fmtInt, round } from "../lib/stats.js";
import type { Scenario, ScenarioResult } from "./scenario.js";

/** The browser globals the functions evaluated in the page use (this project compiles without the DOM library). */
declare const document: {
  querySelector(
    selector: string,
  ): { textContent: string | null; getAttribute(name: string): string | null } | null;
};
declare const window: Record<string, unknown>;

const RATE = 500;
/** The lots the page shows first (the live stream carries these), so every reservation changes what it shows. */
const VISIBLE_LOTS = 100;
const CAPACITY = 100_000;
const MAX_UPDATES_PER_SECOND = 5;
const MAX_MAIN_THREAD_BUSY = 0.5;
const MAX_CATCH_UP_MS = 2000;

/** Counts, inside the page, every live update and every long task (≥ 50 ms on the main thread). */
const INSTRUMENT = `(() => {
  window.__bench = { updates: 0, longTasks: 0, longTaskMs: 0 };
  const Original = window.EventSource;
  window.EventSource = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener("control-center", () => window.__bench.updates++);
    }
  };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      window.__bench.longTasks++;
      window.__bench.longTaskMs += entry.duration;
    }
  }).observe({ type: "longtask", buffered: true });
})();`;

interface PageCounters {
  readonly updates: number;
  readonly longTasks: number;
  readonly longTaskMs: number;
}

/**
 * 7. The control-center page under load: a headless Chromium keeps the page open while 500
 * reservations a second go in (open loop, over the lots the page shows). Measured in the page:
 * live updates received (coalesced by the server to one per LIVE_UPDATE_INTERVAL_MS), long
 * tasks (PerformanceObserver), the renderer's main-thread busy time (CDP Performance.getMetrics
 * TaskDuration) over the window, and how long after the last acknowledged reservation the page
 * shows the final totals.
 */
export const pageScenario: Scenario = {
  name: "page",
  title: "Control-center page at 500 reservations/s",
  async run(ctx): Promise<ScenarioResult> {
    const durationSec = ctx.quick ? 5 : 20;
    await ensureWebBuilt();
    const lots = lotIds(VISIBLE_LOTS);
    const data = benchDataDir("page");
    const service = await startService(data.dir);
    const http = new HttpClient(service.url, 256);
    const browser = await launchBrowser({ viewport: { width: 1920, height: 1080 } });
    let failures = 0;
    try {
      await registerLots(http, lots, CAPACITY);
      await waitForCatchUp(http, 60_000);

      const page = await browser.context.newPage();
      await page.addInitScript(INSTRUMENT);
      // Signed in as an operator with a one-time link; the session cookie then opens the page.
      await page.goto(await benchSignInUrl(service.url, data.dir));
      await page.locator(`[data-lot="${lots[0]}"]`).waitFor({ timeout: 30_000 });
      const cdp = await browser.context.newCDPSession(page);
      await cdp.send("Performance.enable");
      const busy = async () => {
        const { metrics } = await cdp.send("Performance.getMetrics");
        return metrics.find((m) => m.name === "TaskDuration")?.value ?? 0;
      };
      const counters = () => page.evaluate(() => window.__bench as PageCounters);

      const before = await counters();
      const busyBefore = await busy();
      const cpu = cpuMeter(service.pid);
      const started = nowMs();
      const run = await fixedRate({
        rate: RATE,
        durationSec,
        maxInFlight: 1000,
        task: async (i) => {
          const lot = lots[(i * 7919) % lots.length] as string;
          const r = await http.post(`/parking-lots/${lot}/reservations`, JSON.parse(reserveBody(i)));
          if (r.status !== 201) failures++;
        },
      });
      const lastAck = nowMs();
      const serverCpuPct = cpu();
      const expected = run.launched - failures;
      // Until the page shows every acknowledged reservation in its totals.
      await page.waitForFunction(
        (total) =>
          document.querySelector('[data-total="Active reservations"]')?.textContent?.replace(/\D/g, "") ===
          String(total),
        expected,
        { timeout: 30_000, polling: 20 },
      );
      const catchUpMs = Math.round(nowMs() - lastAck);
      const windowSec = (nowMs() - started) / 1000;
      const after = await counters();
      const busySeconds = (await busy()) - busyBefore;
      const shown = await http.getJson<ControlCenterView>("/control-center");

      const updates = after.updates - before.updates;
      const updatesPerSecond = round(updates / windowSec, 2);
      const mainThreadBusy = round(busySeconds / windowSec, 3);
      const longTasks = after.longTasks - before.longTasks;
      const longTaskMs = Math.round(after.longTaskMs - before.longTaskMs);
      const achieved = achievedRate(run);
      log(
        `  ${fmtInt(run.launched)} reservations at ${achieved}/s (server cpu ${serverCpuPct}%): the page got ${updates} updates (${updatesPerSecond}/s), main thread busy ${Math.round(mainThreadBusy * 100)}%, ${longTasks} long tasks (${longTaskMs} ms), final totals shown ${catchUpMs} ms after the last ack`,
      );
      return {
        name: this.name,
        title: this.title,
        checks: [
          {
            target: `updates coalesced: ≤ ${MAX_UPDATES_PER_SECOND}/s at ${RATE} reservations/s`,
            measured: `${updatesPerSecond}/s (${updates} updates for ${fmtInt(run.launched)} reservations)`,
            pass: updatesPerSecond <= MAX_UPDATES_PER_SECOND && updates > 0,
          },
          {
            target: `browser main thread busy < ${MAX_MAIN_THREAD_BUSY * 100}%`,
            measured: `${Math.round(mainThreadBusy * 1000) / 10}% (${longTasks} long tasks, ${longTaskMs} ms)`,
            pass: mainThreadBusy < MAX_MAIN_THREAD_BUSY,
          },
          {
            target: `page shows the final totals ≤ ${MAX_CATCH_UP_MS} ms after the last ack`,
            measured: `${catchUpMs} ms at ${achieved}/s, ${failures} failed requests`,
            pass:
              catchUpMs <= MAX_CATCH_UP_MS &&
              failures === 0 &&
              run.dropped === 0 &&
              achieved >= RATE * 0.95 &&
              shown.totals.totalReservations === expected,
          },
        ],
        figures: {
          ...rateFigures(RATE, durationSec, run),
          failures,
          updates,
          updatesPerSecond,
          mainThreadBusy,
          longTasks,
          longTaskMs,
          catchUpMs,
          serverCpuPct,
        },
      };
    } finally {
      await browser.close();
      http.close();
      await service.stop();
      data.remove();
    }
  },
};
