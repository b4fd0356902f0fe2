import { describe, expect, it } from "vitest";
import { isRateLimited } from "./rate-limits.js";

describe("isRateLimited: only the exact probe paths and the page's asset files go uncounted", () => {
  it.each(["/healthz", "/readyz", "/metrics", "/assets/index-3f2a9c.js", "/assets/control-center-B1x_9.css"])(
    "%s is not counted",
    (path) => expect(isRateLimited(path)).toBe(false),
  );

  it.each([
    "/healthzX",
    "/healthz/",
    "/healthz/anything",
    "/readyz-anything",
    "/metricsX",
    "/metrics.json",
    "/assets/",
    "/assets/no-extension",
    "/assets/sub/dir.js",
    "/assets/../parking-lots.js",
    "/parking-lots",
    "/",
  ])("%s is counted", (path) => expect(isRateLimited(path)).toBe(true));
});
