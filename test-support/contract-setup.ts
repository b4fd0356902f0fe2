import { assertConforms } from "./contract.js";

/**
 * Vitest setup of the e2e suites: every response that a test's fetch receives from a service on
 * this machine is checked against the OpenAPI document (test-support/contract.ts), so a route or
 * a status the document does not describe fails the suite that met it. Streams (Server-Sent
 * Events) are checked by status and headers only; their bodies never end.
 */
const LOCAL = new Set(["127.0.0.1", "localhost", "[::1]"]);
/** Set once the fetch below is installed: files sharing a worker (not isolated) run this setup each. */
const INSTALLED = Symbol.for("parking.contract-checked-fetch");
const global = globalThis as typeof globalThis & { [INSTALLED]?: true };
const originalFetch = globalThis.fetch;

if (!global[INSTALLED])
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await originalFetch(input, init);
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request ? request.url : String(input));
    if (!LOCAL.has(url.hostname) || process.env.CONTRACT_CHECK === "off") return response;
    // Only this service's answers (it stamps every one with X-Correlation-Id): not a test's own
    // servers, such as the identity provider an auth test serves to the service.
    if (!response.headers.has("x-correlation-id")) return response;
    const method = init?.method ?? request?.method ?? "GET";
    const contentType = response.headers.get("content-type") ?? "";
    let body: unknown;
    if (!contentType.startsWith("text/event-stream") && method !== "HEAD") {
      const text = await response.clone().text();
      body = contentType.includes("json") && text ? JSON.parse(text) : text;
    }
    await assertConforms({
      method,
      path: `${url.pathname}${url.search}`,
      status: response.status,
      headers: response.headers,
      body,
    });
    return response;
  };
global[INSTALLED] = true;
