import { execFile } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
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

  it("is sent compressed as the caller accepts (br, gzip), with an ETag that answers 304", async () => {
    const plain = JSON.stringify(served);
    const br = await raw(`${service.url}/openapi.json`, { "accept-encoding": "gzip, deflate, br" });
    expect(br.headers["content-encoding"]).toBe("br");
    expect(JSON.parse(brotliDecompressSync(br.body).toString("utf8"))).toEqual(served);
    // The whole document in a tenth of its bytes, or less.
    expect(br.body.length).toBeLessThan(plain.length / 10);
    const gzip = await raw(`${service.url}/openapi.json`, { "accept-encoding": "gzip" });
    expect(gzip.headers["content-encoding"]).toBe("gzip");
    expect(JSON.parse(gunzipSync(gzip.body).toString("utf8"))).toEqual(served);
    const etag = br.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(gzip.headers.etag).toBe(etag);
    const again = await raw(`${service.url}/openapi.json`, {
      "if-none-match": etag,
      "accept-encoding": "br",
    });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    // An asset of the page: the same (the bundle is the largest thing the page loads).
    const asset = readdirSync(join(process.cwd(), "dist", "web", "assets")).find((f) =>
      /^control-center-.*\.js$/.test(f),
    );
    const page = await raw(`${service.url}/assets/${asset}`, { "accept-encoding": "br" });
    expect(page.status).toBe(200);
    expect(page.headers["content-encoding"]).toBe("br");
    expect(page.headers.etag).toBeTruthy();
    // A command's answer is not compressed (only the large, unchanging answers are).
    const health = await raw(`${service.url}/healthz`, { "accept-encoding": "br" });
    expect(health.headers["content-encoding"]).toBeUndefined();
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

/** A GET as a client that decodes nothing: the status, the headers and the bytes as sent. */
function raw(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    }).on("error", reject);
  });
}
