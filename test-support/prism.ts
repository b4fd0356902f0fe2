import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./process.js";

/**
 * Stoplight Prism in validation-proxy mode in front of a running service: every request and
 * response that passes through is checked against the service's own /openapi.json by a validator
 * that is not ours. Prism needs a newer Node than these machines have, so it only runs when
 * deploy/prism/check.sh has installed it and says where: PRISM_CLI (prism's dist/index.js) and
 * PRISM_NODE (the Node that runs it).
 *
 * Two proxies run. Every call goes to `prism proxy <document> <service> --errors` first, which
 * turns a response at odds with the document into an error. With --errors Prism also refuses a
 * request the document calls invalid (422 UNPROCESSABLE_ENTITY, 401 UNAUTHORIZED) itself, so the
 * service's own answer to it (400, 401, 413, 415, 422...) would never be checked: those requests
 * are sent again through a second proxy, without --errors, which forwards them and reports what it
 * found in its `sl-violations` header, the request's faults (expected: they are refusal cases) and
 * the response's (must be none).
 */
export interface PrismProxy {
  readonly url: string;
  /** A fetch for clients: through Prism, with what Prism reports kept in `violations`. */
  readonly fetch: typeof fetch;
  /** Every response Prism found at odds with the document (must stay empty). */
  readonly violations: string[];
  /**
   * Requests the document calls invalid: refused by the proxy with --errors, then sent through
   * the one without, with what Prism found wrong in the request; their answers were validated.
   */
  readonly refusedAsInvalid: string[];
  /** Every exchange Prism validated, through either proxy: `METHOD /path → status`. */
  readonly checked: string[];
  readonly stop: () => Promise<void>;
}

const PRISM_ERRORS = "https://stoplight.io/prism/errors#";
/**
 * Prism reads a whole upstream body before it validates it, so an endless Server-Sent Events
 * stream would never come back through it: such requests go to the service directly.
 */
const STREAMING_PATHS = new Set(["/control-center/events"]);

export const prismConfigured = (): boolean => Boolean(process.env.PRISM_CLI);

/** One finding of Prism's, as its `sl-violations` header lists them. */
interface PrismFinding {
  readonly location: readonly string[];
  readonly severity: string;
  readonly code?: string | number;
  readonly message: string;
}

/** Prism's `sl-violations` header; a report too long for a header is kept as one raw finding. */
function findingsOf(response: Response): PrismFinding[] {
  const header = response.headers.get("sl-violations");
  if (!header) return [];
  try {
    return JSON.parse(header) as PrismFinding[];
  } catch {
    return [{ location: ["response"], severity: "Error", message: header.slice(0, 500) }];
  }
}

const describeFindings = (findings: readonly PrismFinding[]) =>
  findings.map((f) => `${f.location.join(".")} ${f.message}`).join("; ");

interface RunningPrism {
  readonly url: string;
  readonly child: ChildProcess;
}

async function spawnPrism(cli: string, documentPath: string, serviceUrl: string, errors: boolean) {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.env.PRISM_NODE ?? process.execPath,
    [
      cli,
      "proxy",
      documentPath,
      serviceUrl,
      ...(errors ? ["--errors"] : []),
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
    ],
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
  return { url, child } satisfies RunningPrism;
}

/**
 * The same request, for another origin. The body is read first: a cloned request's body is a
 * stream of unknown length, which would go out chunked, and Prism forwards that
 * `Transfer-Encoding` beside the `Content-Length` it sets itself, which the service's HTTP parser
 * rightly refuses.
 */
async function redirected(request: Request, origin: string): Promise<Request> {
  const target = new URL(request.url);
  const to = new URL(origin);
  target.protocol = to.protocol;
  target.host = to.host;
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  return new Request(target, {
    method: request.method,
    headers: request.headers,
    ...(hasBody ? { body: await request.arrayBuffer() } : {}),
  });
}

export async function startPrismProxy(serviceUrl: string): Promise<PrismProxy> {
  const cli = process.env.PRISM_CLI;
  if (!cli) throw new Error("PRISM_CLI is not set: run deploy/prism/check.sh");
  const dir = mkdtempSync(join(tmpdir(), "prism-"));
  const documentPath = join(dir, "openapi.json");
  writeFileSync(documentPath, await (await fetch(`${serviceUrl}/openapi.json`)).text());
  const [strict, lenient] = await Promise.all([
    spawnPrism(cli, documentPath, serviceUrl, true),
    spawnPrism(cli, documentPath, serviceUrl, false),
  ]);

  const violations: string[] = [];
  const refusedAsInvalid: string[] = [];
  const checked: string[] = [];
  const viaPrism: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    if (STREAMING_PATHS.has(new URL(request.url).pathname))
      return fetch(await redirected(request, serviceUrl));
    const spare = request.clone();
    const response = await fetch(request);
    const label = `${request.method} ${new URL(request.url).pathname} → ${response.status}`;
    const flagged = response.headers.get("sl-violations");
    if (flagged) violations.push(`${label}: ${flagged}`);
    const problemType = response.headers.get("content-type")?.includes("problem+json")
      ? String(((await response.clone().json()) as { type?: unknown }).type ?? "")
      : "";
    if (!problemType.startsWith(PRISM_ERRORS)) {
      checked.push(label);
      return response;
    }
    const kind = problemType.slice(PRISM_ERRORS.length);
    if (kind !== "UNPROCESSABLE_ENTITY" && kind !== "UNAUTHORIZED") {
      violations.push(`${label}: ${kind} ${await response.clone().text()}`);
      return response;
    }
    // The document calls this request invalid, which is what the caller meant to send (a
    // refusal case): the proxy without --errors forwards it, so the test sees the service's
    // answer, and Prism validates that answer.
    const answer = await fetch(await redirected(spare, lenient.url));
    const findings = findingsOf(answer);
    const about = (part: string) => findings.filter((f) => f.location[0] === part);
    const exchange = `${spare.method} ${new URL(spare.url).pathname} → ${answer.status}`;
    checked.push(exchange);
    const through = `${exchange} through Prism without --errors`;
    refusedAsInvalid.push(
      `${through} (refused with --errors: ${kind}; ${describeFindings(about("request"))})`,
    );
    if (about("request").length === 0)
      violations.push(`${through}: Prism found nothing wrong with a request it had refused as ${kind}`);
    if (about("response").length > 0) violations.push(`${through}: ${describeFindings(about("response"))}`);
    return answer;
  };
  return {
    url: strict.url,
    fetch: viaPrism,
    violations,
    refusedAsInvalid,
    checked,
    stop: async () => {
      strict.child.kill("SIGTERM");
      lenient.child.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
