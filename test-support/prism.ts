import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./process.js";

/**
 * Stoplight Prism in validation-proxy mode (`prism proxy <document> <service> --errors`) in front of
 * a running service: every request and response that passes through is checked against the
 * service's own /openapi.json by a validator that is not ours. Prism needs a newer Node than
 * these machines have, so it only runs when deploy/prism/check.sh has installed it and says where:
 * PRISM_CLI (prism's dist/index.js) and PRISM_NODE (the Node that runs it).
 */
export interface PrismProxy {
  readonly url: string;
  /** A fetch for clients: through Prism, with what Prism reports kept in `findings`. */
  readonly fetch: typeof fetch;
  /** Every response Prism found at odds with the document (must stay empty). */
  readonly violations: string[];
  /** Requests Prism refused as invalid per the document before they reached the service. */
  readonly refusedAsInvalid: string[];
  readonly stop: () => Promise<void>;
}

const PRISM_ERRORS = "https://stoplight.io/prism/errors#";
/**
 * Prism reads a whole upstream body before it validates it, so an endless Server-Sent Events
 * stream would never come back through it: such requests go to the service directly.
 */
const STREAMING_PATHS = new Set(["/control-center/events"]);

export const prismConfigured = (): boolean => Boolean(process.env.PRISM_CLI);

export async function startPrismProxy(serviceUrl: string): Promise<PrismProxy> {
  const cli = process.env.PRISM_CLI;
  if (!cli) throw new Error("PRISM_CLI is not set: run deploy/prism/check.sh");
  const dir = mkdtempSync(join(tmpdir(), "prism-"));
  const documentPath = join(dir, "openapi.json");
  writeFileSync(documentPath, await (await fetch(`${serviceUrl}/openapi.json`)).text());
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.env.PRISM_NODE ?? process.execPath,
    [cli, "proxy", documentPath, serviceUrl, "--errors", "--host", "127.0.0.1", "--port", String(port)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prism exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`prism did not listen within 60 s:\n${output}`);
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 200));
  }

  const violations: string[] = [];
  const refusedAsInvalid: string[] = [];
  const direct = (request: Request) => {
    const target = new URL(request.url);
    const origin = new URL(serviceUrl);
    target.protocol = origin.protocol;
    target.host = origin.host;
    return fetch(new Request(target, request));
  };
  const viaPrism: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    if (STREAMING_PATHS.has(new URL(request.url).pathname)) return direct(request);
    const spare = request.clone();
    const response = await fetch(request);
    const label = `${request.method} ${new URL(request.url).pathname} → ${response.status}`;
    const flagged = response.headers.get("sl-violations");
    if (flagged) violations.push(`${label}: ${flagged}`);
    const problemType = response.headers.get("content-type")?.includes("problem+json")
      ? String(((await response.clone().json()) as { type?: unknown }).type ?? "")
      : "";
    if (!problemType.startsWith(PRISM_ERRORS)) return response;
    const kind = problemType.slice(PRISM_ERRORS.length);
    if (kind === "UNPROCESSABLE_ENTITY" || kind === "UNAUTHORIZED") {
      // The document describes this request as invalid, which is what the caller meant to
      // send (a refusal case): hand it to the service itself so the test sees the real answer.
      refusedAsInvalid.push(`${label} (${kind})`);
      return direct(spare);
    }
    violations.push(`${label}: ${kind} ${await response.clone().text()}`);
    return response;
  };
  return {
    url,
    fetch: viaPrism,
    violations,
    refusedAsInvalid,
    stop: async () => {
      child.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
