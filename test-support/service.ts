import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningService, startService } from "../app/server.js";
import type { ServiceOptions } from "../app/services.js";
import { type Config, loadConfig } from "../platform/config.js";
import { createLogger } from "../platform/logger.js";
import { defaultAuthFor, registerServiceDataDir } from "./auth.js";
import { TEST_RATE_LIMITS } from "./process.js";

/** A fresh data directory under the OS temp dir; removed by the returned cleanup. */
export function tempDataDir(prefix = "parking-test-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A service's configuration in a test's own process. Its processors run in the request thread
 * unless `env` says PROCESSORS_THREAD=worker: a worker would load the whole service a second time
 * (through tsx, from source: about 3 s a start here, against 0.1 s), and the tests that start the
 * service as a process run the worker thread, the default, as production does.
 */
export function testConfig(dataDir: string, env: Record<string, string> = {}): Config {
  const defaults = { LOG_LEVEL: "silent", HOST: "127.0.0.1", PROCESSORS_THREAD: "main" };
  // LOT_PERIOD_EVENTS=50 in the test run's environment makes a suite's short lots cross periods (as
  // a spawned service inherits it); a test's own `env` still wins.
  const periods = process.env.LOT_PERIOD_EVENTS ? { LOT_PERIOD_EVENTS: process.env.LOT_PERIOD_EVENTS } : {};
  return {
    ...loadConfig({ DATA_DIR: dataDir, ...defaults, ...TEST_RATE_LIMITS, ...periods, ...env }),
    port: 0,
  };
}

/** The all-in-one service on embedded stores, listening on an ephemeral loopback port. */
export async function startTestService(
  dataDir: string,
  env: Record<string, string> = {},
  options: ServiceOptions = {},
): Promise<RunningService> {
  const config = testConfig(dataDir, env);
  const service = await startService(config, createLogger(config.logLevel), options);
  registerServiceDataDir(service.url, dataDir);
  return service;
}

export interface JsonResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/**
 * One HTTP call with a JSON body. A service started through test-support gets the test operator's
 * token unless `headers` has an `authorization` (customerHeaders(...), or ANONYMOUS for none).
 */
export async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse<T>> {
  const named = Object.keys(headers).find((name) => name.toLowerCase() === "authorization");
  const auth = named === undefined ? await defaultAuthFor(base) : {};
  const sent: Record<string, string> = { ...auth, ...headers };
  if (named !== undefined && sent[named] === "") delete sent[named];
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...sent },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : {}) as T };
}

/** Polls until `check` returns a value (not undefined) or the timeout passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
