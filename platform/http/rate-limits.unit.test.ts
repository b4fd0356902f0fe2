import type { Request, RequestHandler, Response } from "express";
import { describe, expect, it, vi } from "vitest";
import { ProblemError } from "./problem.js";
import { isRateLimited, rateLimits } from "./rate-limits.js";

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

describe("rateLimits in memory: fixed windows per key, draft-8 fields", () => {
  const call = (handler: RequestHandler, ip: string) => {
    const headers: Record<string, string[]> = {};
    let passed: unknown = "not called";
    const req = { path: "/parking-lots", ip } as Request;
    const res = {
      headersSent: false,
      appendHeader: (name: string, value: string) => {
        headers[name] = [...(headers[name] ?? []), value];
      },
    } as unknown as Response;
    handler(req, res, (error?: unknown) => {
      passed = error;
    });
    return { headers, error: passed };
  };

  it("counts per address, refuses past the quota with the seconds left, and starts a new window after it", () => {
    vi.useFakeTimers({ toFake: ["Date"], now: 1_000_000 });
    try {
      const [perAddress] = rateLimits({ windowMs: 60_000, perAddress: 2, perPrincipal: 5 });
      const handler = perAddress as RequestHandler;
      expect(call(handler, "10.0.0.1")).toMatchObject({ error: undefined });
      const second = call(handler, "10.0.0.1");
      expect(second.error).toBeUndefined();
      expect(second.headers.RateLimit).toEqual(['"per-address"; r=0; t=60']);
      expect(second.headers["RateLimit-Policy"]?.[0]).toMatch(
        /^"per-address"; q=2; w=60; pk=:[A-Za-z0-9+/=]+:$/,
      );
      expect(call(handler, "10.0.0.2").error).toBeUndefined(); // another address, its own window
      vi.setSystemTime(1_000_000 + 20_500);
      const refused = call(handler, "10.0.0.1");
      expect(refused.error).toBeInstanceOf(ProblemError);
      expect((refused.error as ProblemError).extra.retryAfterSeconds).toBe(40);
      vi.setSystemTime(1_000_000 + 60_000);
      expect(call(handler, "10.0.0.1").error).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});
