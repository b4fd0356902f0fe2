import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, tempDataDir } from "../test-support/service.js";
import { serviceAccess } from "./access.js";
import type { RunningService } from "./server.js";
import { openApiDocument } from "./surface/document.js";

const run = promisify(execFile);
const redocly = join(
  createRequire(import.meta.url).resolve("@redocly/cli/package.json"),
  "..",
  "bin",
  "cli.js",
);

describe("the served OpenAPI document", () => {
  const data = tempDataDir("parking-openapi-");
  let service: RunningService;
  let served: Record<string, unknown>;

  beforeAll(async () => {
    service = await startTestService(data.dir);
    served = (await (await fetch(`${service.url}/openapi.json`)).json()) as Record<string, unknown>;
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  it("is the document the e2e responses are validated against (test-support/contract.ts)", () => {
    expect(served).toEqual(JSON.parse(JSON.stringify(openApiDocument(serviceAccess))));
  });

  it("passes Redocly lint with the recommended rules: no error, no warning", async () => {
    const file = join(data.dir, "openapi.json");
    writeFileSync(file, JSON.stringify(served, null, 2));
    const { stdout, stderr } = await run(
      process.execPath,
      [redocly, "lint", file, "--config", "redocly.yaml", "--format", "json"],
      {
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((error: { stdout: string; stderr: string }) => ({ stdout: error.stdout, stderr: error.stderr }));
    const report = JSON.parse(stdout.slice(stdout.indexOf("{"))) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; message: string }[];
    };
    expect(
      report.problems.map((p) => `${p.ruleId}: ${p.message}`),
      stderr,
    ).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it("names every operation, and every response says its X-Correlation-Id (but Node's own 408 and 431)", () => {
    const paths = served.paths as Record<string, Record<string, { operationId?: string; responses: object }>>;
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(item)) {
        expect(operation.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
        expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(
          expect.arrayContaining(["400", "408", "431"]),
        );
        for (const [status, response] of Object.entries(operation.responses) as [
          string,
          { headers?: object },
        ][]) {
          // Node answers these before the service sees the request: a bare status, nothing else.
          if (status === "408" || status === "431") {
            expect(response.headers, `${method} ${path} ${status}`).toBeUndefined();
            continue;
          }
          expect(Object.keys(response.headers ?? {}), `${method} ${path} ${status}`).toContain(
            "X-Correlation-Id",
          );
        }
      }
    }
  });
});
