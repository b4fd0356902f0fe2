import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { launchBrowser, signInLink, type TestBrowser } from "../test-support/browser.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import { ensureWebBuilt } from "../test-support/web-build.js";

/**
 * The lot's page for an operator's day (issue 33 item 5), in a real Chromium with a clock the test
 * moves: an overstaying car shows its minutes and the charge so far (the service's figures), a
 * reservation the service finds at risk is marked in its row, checking a car into a full lot asks
 * first and says the lot is full, a closure's result says what its preview said, the "as of"
 * slider moves the timeline and the table (a minute a step on a young lot), the audit trail pages
 * through the API's sentences, and on a phone the lots come before the projection panels.
 * Screenshots at 1366×900 and 390×844 are taken on every run; they replace docs/screenshots/ (the
 * ones docs/api.md shows) only with UPDATE_SCREENSHOTS=1, so a test run leaves the tree as it was.
 */

/** The browser global the timeline's check evaluates in the page (this project compiles without the DOM library). */
declare const getComputedStyle: (element: unknown) => { backgroundColor: string };

const SHOTS =
  process.env.UPDATE_SCREENSHOTS === "1"
    ? join(process.cwd(), "docs", "screenshots")
    : join(tempDataDir("parking-lot-page-shots-").dir, "screenshots");
// In Seoul, as the browser: a closure typed on the page is the lot's wall clock (issue 49).
const LOT = {
  parkingLotId: "seocho-1",
  name: "서초 1주차장",
  capacity: 2,
  hourlyRate: 1200,
  timeZone: "Asia/Seoul",
};
const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;

const data = tempDataDir("parking-lot-page-");
const SEOUL_OFFSET = 9 * 3_600_000;
const DAY = 24 * 60 * MINUTE;
/**
 * The scenario's start: the next quarter and a minute, or, when its first hour (every fact the
 * audit trail's "today" reads) would cross Seoul's midnight, a minute after that midnight: the trail
 * reads the lot's today on the lot's clock, and a run started in the last hour of Seoul's day found
 * only the facts after midnight there.
 */
const t0 = (() => {
  const next = Math.ceil(Date.now() / QUARTER) * QUARTER + MINUTE;
  const midnight = Math.ceil((next + SEOUL_OFFSET) / DAY) * DAY - SEOUL_OFFSET;
  return midnight - next < 60 * MINUTE ? midnight + MINUTE : next;
})();
let now = t0;
let service: RunningService;
let browser: TestBrowser;
const ids: Record<string, string> = {};

const iso = (at: number) => new Date(at).toISOString();
/** What a datetime-local input of the browser (Asia/Seoul, see test-support/browser.ts) shows. */
const seoul = (at: number) => new Date(at + 9 * 3_600_000).toISOString().slice(0, 16);
/** A small PNG of one part of the page (or the window), for docs/api.md. */
const shot = (target: Page | Locator, name: string) =>
  target.screenshot({ path: join(SHOTS, `${name}.png`) });

const reserve = async (name: string, carNumber: string, startsAt: number, endsAt: number) => {
  const answer = await call<{ reservationId: string }>(
    service.url,
    "POST",
    `/parking-lots/${LOT.parkingLotId}/reservations`,
    { customerId: `CUST-${name}`, carNumber, startsAt: iso(startsAt), endsAt: iso(endsAt) },
  );
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  ids[name] = answer.body.reservationId;
};
const checkIn = async (name: string) => {
  const answer = await call(
    service.url,
    "POST",
    `/parking-lots/${LOT.parkingLotId}/reservations/${ids[name]}/check-in`,
  );
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
};

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  await ensureWebBuilt();
  service = await startTestService(data.dir, { PROCESSORS_THREAD: "main" }, { clock: () => new Date(now) });
  browser = await launchBrowser();
  expect((await call(service.url, "POST", "/parking-lots", LOT)).status).toBe(201);
  // A and D check in; A stays 20.5 minutes past its window, so B (booked when both spots were
  // free for it) finds both spots taken when it starts: at risk. Four windows later in the day
  // make the audit trail longer than a page.
  await reserve("A", "11가1111", t0 + 4 * MINUTE, t0 + 34 * MINUTE);
  await reserve("D", "22나2222", t0 + 4 * MINUTE, t0 + 150 * MINUTE);
  await reserve("B", "33다3333", t0 + 58 * MINUTE, t0 + 90 * MINUTE);
  for (const [name, plate] of [
    ["E", "44라4444"],
    ["F", "55마5555"],
  ] as const)
    await reserve(name, plate, t0 + 300 * MINUTE, t0 + 330 * MINUTE);
  for (const [name, plate] of [
    ["G", "66바6666"],
    ["H", "77사7777"],
  ] as const)
    await reserve(name, plate, t0 + 400 * MINUTE, t0 + 430 * MINUTE);
  now = t0 + 5 * MINUTE;
  await checkIn("A");
  await checkIn("D");
  now = t0 + 54 * MINUTE + 30_000;
});

afterAll(async () => {
  await browser?.close();
  await service?.shutdown("test done", { drain: false });
  data.remove();
});

/** Signs in and opens the lot once the control center counts `inLot` cars in it. */
async function openLot(page: Page, inLot = "3") {
  await openLotIn(page);
  const lotRow = page.locator(`[data-lot="${LOT.parkingLotId}"]`);
  await expect.poll(() => lotRow.locator("[data-in-lot]").getAttribute("data-in-lot")).toBe(inLot);
  await lotRow.getByRole("button", { name: LOT.name }).click();
}

/** Signs in and waits for the control center. */
async function openLotIn(page: Page) {
  await page.goto(await signInLink(data.dir, service.url, { role: "operator", sub: "ops-1" }));
  await page.waitForURL(`${service.url}/control-center`);
}

const row = (page: Page, name: string) => page.locator(`[data-reservation="${ids[name]}"]`);
const statusOf = (page: Page, name: string) =>
  row(page, name).locator("[data-status]").getAttribute("data-status");

describe("the lot's page for an operator's day", () => {
  it("overstay minutes and charge so far, the at-risk mark, the full-lot warning before a check-in", async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    // Both spots have a car (A and D) before B arrives.
    await openLot(page, "2");

    // A: 20.5 minutes past its window at 1,200 an hour → 20 min, 410 so far (the service's figures).
    await expect.poll(() => statusOf(page, "A")).toBe("OVERSTAYING");
    const overstay = row(page, "A").locator("[data-overstay-minutes]");
    expect(await overstay.getAttribute("data-overstay-minutes")).toBe("20");
    expect(await overstay.getAttribute("data-overstay-so-far")).toBe("410");
    expect(await overstay.innerText()).toMatch(/20 min · 410 so far/);
    const api = await call<{ overstay?: { minutes: number; chargeSoFar: number } }>(
      service.url,
      "GET",
      `/reservations/${ids.A}`,
    );
    expect(api.body.overstay).toEqual({ minutes: 20, chargeSoFar: 410 });

    // The timeline: A, overstaying, is stacked on D's spot, so both show (neither hides the other).
    const stacked = page.locator(".timeline [data-slot][data-overstaying]").first();
    await stacked.waitFor();
    expect(await stacked.getAttribute("data-held")).not.toBe("1");
    const heightOf = (part: string) =>
      stacked.locator(`span.${part}`).evaluate((e) => e.getBoundingClientRect().height);
    expect(await heightOf("held")).toBeGreaterThan(5);
    expect(await heightOf("overstay")).toBeGreaterThan(5);
    // Every colour the chart draws has its key in the legend, and "now" a colour of its own.
    const colours = await page.locator(".timeline").evaluate((timeline) => {
      const colour = (selector: string) => {
        const e = timeline.querySelector(selector);
        return e ? getComputedStyle(e).backgroundColor : null;
      };
      return {
        chart: {
          held: colour(".slot:not(.full) span.held"),
          full: colour(".slot.full span.held"),
          overstay: colour("span.overstay"),
          now: colour(".now-line"),
        },
        legend: {
          held: colour(".key.held"),
          full: colour(".key.full"),
          overstay: colour(".key.overstay"),
          now: colour(".key.now"),
        },
      };
    });
    for (const colour of Object.values(colours.chart)) expect(colour).toEqual(expect.any(String));
    expect(colours.legend).toEqual(colours.chart);
    const { now: nowColour, ...others } = colours.chart;
    expect(Object.values(others)).not.toContain(nowColour);

    // B is at risk (the control center's atRisk): a visible badge in its row, none in the others.
    const risk = row(page, "B").locator(".badge.at-risk");
    await expect.poll(() => risk.isVisible()).toBe(true);
    expect(await risk.innerText()).toMatch(/^at risk from /);
    // Exactly those the control center found at risk (every later window too, while A holds its
    // spot for ever), and not the cars in the lot.
    const center = await call<{
      parkingLots: { parkingLotId: string; atRisk: { reservationId: string }[] }[];
    }>(service.url, "GET", "/control-center");
    const atRisk = center.body.parkingLots.find((l) => l.parkingLotId === LOT.parkingLotId)?.atRisk ?? [];
    const marked = await page
      .locator("[data-reservation]:has(.badge.at-risk)")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-reservation")));
    expect(marked.sort()).toEqual(atRisk.map((r) => r.reservationId).sort());
    expect(marked).toContain(ids.B);
    expect(marked).not.toContain(ids.A);
    expect(marked).not.toContain(ids.D);
    await page.locator("table.reservations").scrollIntoViewIfNeeded();
    await shot(page, "lot-page-1366");

    // Checking B in: both spots have a car, so the page asks first and says the lot is full.
    await row(page, "B").getByRole("button", { name: "Check in 33다3333" }).click();
    const confirm = row(page, "B").getByRole("alertdialog");
    expect(await confirm.innerText()).toContain("The lot is full");
    expect(await confirm.innerText()).toContain("2 of 2 spots have a car");
    await shot(confirm, "lot-page-full-lot-1366");
    await confirm.getByRole("button", { name: "Not now" }).click();
    expect(await statusOf(page, "B")).toBe("RESERVED");
    await row(page, "B").getByRole("button", { name: "Check in 33다3333" }).click();
    await row(page, "B").getByRole("button", { name: "Check in anyway" }).click();
    await expect.poll(() => statusOf(page, "B")).toBe("CHECKED_IN");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a closure's result says what its preview said", async () => {
    const page = await browser.context.newPage();
    await openLot(page);
    const closures = page.getByRole("form", { name: "Announce a closure" });
    await closures.getByLabel("From").fill(seoul(t0 + 290 * MINUTE));
    await closures.getByLabel("Until").fill(seoul(t0 + 340 * MINUTE));
    await closures.getByLabel("Closure reason").fill("도색 공사");
    await closures.getByRole("button", { name: "Preview closure" }).click();
    const summary = page.getByRole("region", { name: "Closure preview" }).locator("[data-closure-summary]");
    await expect.poll(() => summary.innerText()).toContain("2 reservations canceled now");
    const previewed = (await summary.innerText()).trim().replace(/\.$/, "");
    await page
      .getByRole("region", { name: "Closure preview" })
      .getByRole("button", { name: "Close the lot" })
      .click();
    const notice = page.getByRole("status").filter({ hasText: "Closed" });
    await notice.waitFor();
    expect(await notice.innerText()).toContain(`${previewed}.`);
    await expect.poll(() => statusOf(page, "E")).toBe("CANCELED");
    await page.close();
  });

  it("the as-of slider moves the timeline and the table, a minute a step on a young lot", async () => {
    const page = await browser.context.newPage();
    await openLot(page);
    const slider = page.getByRole("slider", { name: "Moment to show the lot as of" });
    await expect.poll(() => slider.getAttribute("data-step-minutes")).toBe("1");
    await expect.poll(() => statusOf(page, "A")).toBe("OVERSTAYING");

    // Three minutes after the lot was registered: the bookings made, no car in yet.
    const then = t0 + 3 * MINUTE;
    await slider.fill("3"); // sets the range input's value and fires its change event
    await expect.poll(() => page.locator("[data-as-of]").getAttribute("data-as-of")).toBe(iso(then));
    await expect.poll(() => page.locator(".timeline [data-now]").getAttribute("data-now")).toBe(iso(then));
    await expect.poll(() => statusOf(page, "A")).toBe("RESERVED");
    expect(await statusOf(page, "E")).toBe("RESERVED"); // canceled only later, by the closure
    expect(await page.locator("[data-reservation] .row-actions").count()).toBe(0);
    expect(await page.locator("[data-reservation] .badge.at-risk").count()).toBe(0);
    await page.locator(".as-of").scrollIntoViewIfNeeded();
    await shot(page, "lot-page-as-of-1366");

    await page.getByRole("button", { name: "Back to now" }).click();
    await expect.poll(() => statusOf(page, "A")).toBe("OVERSTAYING");
    await expect.poll(() => page.locator(".timeline [data-now]").getAttribute("data-now")).toBe(iso(now));
    await page.close();
  });

  it("the audit trail (issue 69): the lot's today, newest first, ten a page, older and newer; each fact worded from its type, its instants on the lot's clock", async () => {
    // The facts of the service's day on the lot's clock (Seoul), as the API has them (log order).
    const seoulDay = new Date(now + 9 * 3_600_000).toISOString().slice(0, 10);
    const from = new Date(Date.parse(`${seoulDay}T00:00:00+09:00`)).toISOString();
    const facts = (
      await call<{ items: { position: string; type: string }[]; nextCursor: string | null }>(
        service.url,
        "GET",
        `/parking-lots/${LOT.parkingLotId}/history?limit=1000&from=${from}`,
      )
    ).body.items.reverse();
    expect(facts.length).toBeGreaterThan(10);

    const page = await browser.context.newPage();
    await openLot(page);
    const trail = page.getByRole("region", { name: "Audit trail" });
    const shown = () =>
      trail.locator("[data-fact]").evaluateAll((l) => l.map((e) => e.getAttribute("data-fact")));
    await expect.poll(shown).toEqual(facts.slice(0, 10).map((f) => f.position));
    expect(await trail.getByRole("button", { name: "Newer facts" }).isDisabled()).toBe(true);
    // Worded from the type, the API's sentence beside it with no raw instant.
    const newest = trail.locator("[data-fact]").first();
    expect(await newest.getAttribute("data-fact-type")).toBe(facts[0]?.type);
    expect((await newest.locator("b").innerText()).trim()).not.toBe(facts[0]?.type);
    expect(await trail.innerText()).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    await trail.scrollIntoViewIfNeeded();
    await shot(trail, "lot-page-audit-trail-1366");
    await trail.getByRole("button", { name: "Older facts" }).click();
    await expect.poll(shown).toEqual(facts.slice(10, 20).map((f) => f.position));
    await trail.getByRole("button", { name: "Newer facts" }).click();
    await expect.poll(shown).toEqual(facts.slice(0, 10).map((f) => f.position));
    // A day before the lot's registration: the trail goes no further back than that day (issue 69:
    // the date field's min, the field set back to it). The lot was registered today, so that is
    // today's first page, and Latest has nowhere to go.
    const dayField = trail.getByLabel("Day of the audit trail to jump to");
    await dayField.fill("2020-01-01");
    await expect
      .poll(async () => (await dayField.inputValue()) === (await dayField.getAttribute("min")))
      .toBe(true);
    await expect.poll(shown).toEqual(facts.slice(0, 10).map((f) => f.position));
    expect(await trail.getByRole("button", { name: "Latest" }).isDisabled()).toBe(true);
    await page.close();
  });

  it("on a laptop and on a phone (390×844) the lots come before the projection panels", async () => {
    const page = await browser.context.newPage();
    const lots = page.locator("section[aria-labelledby=lots-title]");
    const projections = page.locator(".projections-panel");
    const top = async (l: Locator) => (await l.boundingBox())?.y ?? Number.NaN;
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.goto(`${service.url}/control-center`);
    await lots.waitFor();
    expect(await top(lots)).toBeLessThan(await top(projections));
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await lots.waitFor();
    expect(await top(lots)).toBeLessThan(await top(projections));
    expect(await top(lots)).toBeLessThan(await top(page.locator(".charts")));
    await shot(page, "control-center-390");
    // A lot's page too: the lot first.
    await page.locator(`[data-lot="${LOT.parkingLotId}"]`).getByRole("button", { name: LOT.name }).click();
    const detail = page.locator("section.detail");
    await detail.waitFor();
    expect(await top(detail)).toBeLessThan(await top(projections));
    await expect.poll(() => statusOf(page, "A")).toBe("OVERSTAYING");
    await row(page, "A").scrollIntoViewIfNeeded();
    await shot(page, "lot-page-390");
    await page.close();
  });

  it("in a browser in Los Angeles, the Seoul lot's page shows Seoul's times with KST and reads a closure in Seoul time (issue 49)", async () => {
    const la = await launchBrowser({ timezoneId: "America/Los_Angeles", locale: "en-US" });
    try {
      const page = await la.context.newPage();
      expect(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)).toBe(
        "America/Los_Angeles",
      );
      await openLotIn(page);
      await page.locator(`[data-lot="${LOT.parkingLotId}"]`).getByRole("button", { name: LOT.name }).click();
      /** Hours and minutes (and seconds) of an instant on a zone's wall clock. */
      const wall = (at: string | number, timeZone: string, seconds = false) =>
        new Intl.DateTimeFormat("en-GB", {
          timeZone,
          hourCycle: "h23",
          hour: "2-digit",
          minute: "2-digit",
          ...(seconds ? { second: "2-digit" } : {}),
        }).format(new Date(at));
      const zone = page.locator("[data-time-zone]");
      await expect.poll(() => zone.getAttribute("data-time-zone")).toBe("Asia/Seoul");
      expect(await zone.innerText()).toContain("Asia/Seoul (KST)");

      // The reservation table: A's window on Seoul's clock.
      await expect.poll(() => statusOf(page, "A")).toBe("OVERSTAYING");
      const window = await row(page, "A").locator("td[data-label=Window]").innerText();
      // A window across Seoul's midnight shows each end's date too (run between 23:26 and 24:00 KST).
      expect(window).toMatch(
        new RegExp(
          `${wall(t0 + 4 * MINUTE, "Asia/Seoul")} – (\\S+, )?${wall(t0 + 34 * MINUTE, "Asia/Seoul")} KST`,
        ),
      );
      expect(window).not.toContain(wall(t0 + 4 * MINUTE, "America/Los_Angeles"));

      // The audit trail: each fact's time, to the second, with KST.
      const facts = page.getByRole("region", { name: "Audit trail" }).locator("[data-fact] time");
      await expect.poll(() => facts.count()).toBeGreaterThan(0);
      for (const fact of await facts.all()) {
        const at = (await fact.getAttribute("datetime")) as string;
        expect(await fact.innerText()).toMatch(new RegExp(`${wall(at, "Asia/Seoul", true)} KST$`));
      }

      // The timeline's ticks: every third hour from its first quarter, on Seoul's clock.
      const firstSlot = (await page
        .locator(".timeline [data-slot]")
        .first()
        .getAttribute("data-slot")) as string;
      const ticks = await page.locator(".timeline-axis li").allInnerTexts();
      expect(ticks[0]).toBe(`${wall(firstSlot, "Asia/Seoul")} KST`);
      expect(ticks.every((t) => / KST$/.test(t))).toBe(true);

      // The as-of slider: the moment chosen, on Seoul's clock.
      await page.getByRole("slider", { name: "Moment to show the lot as of" }).fill("3");
      const asOf = page.locator("[data-as-of]");
      await expect.poll(() => asOf.getAttribute("data-as-of")).toBe(iso(t0 + 3 * MINUTE));
      expect(await asOf.innerText()).toContain(`${wall(t0 + 3 * MINUTE, "Asia/Seoul", true)} KST`);
      await page.getByRole("button", { name: "Back to now" }).click();

      // A closure typed in Seoul's wall clock is that instant, not Los Angeles' reading of it.
      const closures = page.getByRole("form", { name: "Announce a closure" });
      expect(await closures.locator("[data-input-zone]").first().getAttribute("data-input-zone")).toBe(
        "Asia/Seoul",
      );
      await closures.getByLabel("From").fill(seoul(t0 + 600 * MINUTE));
      await closures.getByLabel("Until").fill(seoul(t0 + 630 * MINUTE));
      await closures.getByLabel("Closure reason").fill("점검");
      await closures.getByRole("button", { name: "Preview closure" }).click();
      await page
        .getByRole("region", { name: "Closure preview" })
        .getByRole("button", { name: "Close the lot" })
        .click();
      await page.getByRole("status").filter({ hasText: "Closed" }).waitFor();
      const lot = await call<{ closures?: { from: string; until: string; reason?: string }[] }>(
        service.url,
        "GET",
        `/parking-lots/${LOT.parkingLotId}`,
      );
      expect(lot.body.closures?.find((c) => c.reason === "점검")).toMatchObject({
        from: iso(t0 + 600 * MINUTE),
        until: iso(t0 + 630 * MINUTE),
      });
      await page.close();
    } finally {
      await la.close();
    }
  });
  it("gate reviews (issue 49): a doubtful read is listed with its time on the lot's clock, and Deny settles it; an entry with no booking is admitted as a drive-up under the typed plate", async () => {
    const doubtful = (eventId: string, plate: string) =>
      call(service.url, "POST", `/parking-lots/${LOT.parkingLotId}/gate-events`, {
        eventId,
        gateId: "east",
        direction: "entry",
        plate,
        confidence: 0.4,
        at: iso(now),
      });
    expect((await doubtful("page-cam-1", "44라4444")).body).toMatchObject({
      decision: "review",
      reason: "LowConfidence",
    });
    expect((await doubtful("page-cam-2", "88아8888")).body).toMatchObject({ decision: "review" });
    const page = await browser.context.newPage();
    await openLot(page);
    const panel = page.getByRole("region", { name: "Gate reviews" });
    const item = panel.locator('[data-gate-review="page-cam-1"]');
    await item.waitFor();
    // The read in words: gate, direction, time on the lot's clock, the camera's confidence, the reason.
    const read = await item.innerText();
    expect(read).toContain("Gate east, entry at ");
    expect(read).toContain(" KST");
    expect(read).toContain("the camera could barely read it (40%)");
    expect(read).toContain("The camera is not sure of the plate");
    expect(read).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    // Deny asks first: Not now keeps the review, Yes settles it.
    await item.getByRole("button", { name: "Deny" }).click();
    await item.getByRole("button", { name: "Not now" }).click();
    await item.getByRole("button", { name: "Deny" }).click();
    await item.getByRole("button", { name: "Yes, turn it away" }).click();
    await page.getByRole("status").filter({ hasText: "Gate east: the car was turned away." }).waitFor();
    // A car with no booking: the attendant types the plate read on the camera image (a review keeps none).
    const driveUp = panel.locator('[data-gate-review="page-cam-2"]');
    const plate = driveUp.getByLabel("Plate on the camera image");
    const admit = driveUp.getByRole("button", { name: "Admit as drive-up" });
    expect(await admit.isDisabled()).toBe(true);
    await plate.fill("8");
    expect(await admit.isDisabled()).toBe(true);
    await plate.fill("88 아 8888");
    expect(await admit.isDisabled()).toBe(false);
    // A, B and D are in the lot's 2 spots: the lot refuses as its gate would, and the page says why.
    await admit.click();
    await panel.getByRole("alert").filter({ hasText: "is full" }).waitFor();
    // Two cars leave: the attendant admits it, the answer names the stay.
    for (const name of ["A", "B"]) {
      const out = await call(
        service.url,
        "POST",
        `/parking-lots/${LOT.parkingLotId}/reservations/${ids[name]}/check-out`,
      );
      expect(out.status, JSON.stringify(out.body)).toBe(200);
    }
    await admit.click();
    await page.getByRole("status").filter({ hasText: "Gate east: drive-up 88 아 8888 checked in" }).waitFor();
    // The stay holds the typed plate (the review's record does not): the lot's own drive-up.
    await expect
      .poll(
        async () =>
          (
            await call<{ items: unknown[] }>(
              service.url,
              "GET",
              `/reservations?parkingLotId=${LOT.parkingLotId}&carNumber=${encodeURIComponent("88아8888")}`,
            )
          ).body.items,
      )
      .toEqual([expect.objectContaining({ carNumber: "88 아 8888", status: "CHECKED_IN" })]);
    await expect.poll(() => panel.count()).toBe(0);
    await page.close();
  });
});
