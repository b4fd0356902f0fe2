import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { PROJECT_ROOT } from "./process.js";

/** Debian's Chromium (`.ci/run` installs it with apt-get); playwright-core downloads no browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface TestBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * A headless Chromium with a fresh profile (removed on close), for the page tests and the page bench:
 * in Seoul and in English unless `timezoneId` and `locale` say otherwise (a browser in another zone
 * than the lot's, issue 49; a Korean browser, whose page speaks Korean, issue 69).
 */
export async function launchBrowser(
  options: {
    viewport?: { width: number; height: number };
    ignoreHTTPSErrors?: boolean;
    timezoneId?: string;
    locale?: string;
  } = {},
): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "parking-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: options.viewport ?? { width: 1366, height: 900 },
    locale: options.locale ?? "en-US",
    timezoneId: options.timezoneId ?? "Asia/Seoul",
    // A test identity provider's throwaway certificate: trusted by this profile only.
    ...(options.ignoreHTTPSErrors ? { ignoreHTTPSErrors: true } : {}),
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export type { Browser };

/**
 * A sign-in link the way an operator gets one: `npm run -s token -- --role R --sub S --sign-in-url URL`
 * run against the service's DATA_DIR (the token CLI itself, in a child process).
 */
export async function signInLink(
  dataDir: string,
  serviceUrl: string,
  who: { readonly role: "operator" | "customer"; readonly sub: string },
): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      "--import",
      "tsx",
      "app/token-cli.ts",
      "--role",
      who.role,
      "--sub",
      who.sub,
      "--sign-in-url",
      serviceUrl,
    ],
    { cwd: PROJECT_ROOT, env: { ...process.env, DATA_DIR: dataDir }, timeout: 60_000 },
  );
  const link = stdout.trim().split("\n").at(-1) ?? "";
  if (!link.startsWith(`${serviceUrl}/sign-in?`))
    throw new Error(`the token CLI printed no sign-in link: ${stdout}`);
  return link;
}

/**
 * "fits" when the page is no wider than its window once it has settled at the current size, else
 * how much wider and which elements stick out past the window's right edge. Measured after two
 * animation frames, so that what follows its container's width (the charts, through a
 * ResizeObserver, whose callbacks run in the next rendering step) has done so.
 */
export async function fitsTheWindow(page: Page): Promise<string> {
  return page.evaluate(`new Promise((settled) =>
    requestAnimationFrame(() => requestAnimationFrame(() => {
      const width = window.innerWidth;
      const overflow = document.documentElement.scrollWidth - width;
      if (overflow <= 0) return settled("fits");
      const wider = [...document.querySelectorAll("body *")]
        .filter((element) => element.getBoundingClientRect().right > width + 0.5)
        .slice(0, 10)
        .map((element) => element.tagName.toLowerCase() + (typeof element.className === "string" && element.className.trim() ? "." + element.className.trim().split(/\\s+/).join(".") : "") + " to " + Math.round(element.getBoundingClientRect().right) + "px");
      settled(overflow + "px wider than the window: " + wider.join(", "));
    })))`);
}
