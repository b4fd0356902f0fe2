import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/**
 * Keeps the part of Stripe's published OpenAPI document (github.com/stripe/openapi) that the
 * Stripe-contract test server serves: the operations below, the component schemas they reference
 * (transitively), without prose (descriptions), and records where the document came from.
 *
 *   npx tsx test-support/stripe/trim-openapi.ts <spec3.yaml|spec3.json> <commit> <commit date> [path in repo]
 *
 * e.g. from a clone of stripe/openapi: `git show <commit>:openapi/spec3.yaml > /tmp/spec3.yaml`.
 */
const OPERATIONS: Record<string, readonly ("get" | "post" | "delete")[]> = {
  "/v1/payment_intents": ["get", "post"],
  // Issue 71: an off-session charge found by its step's key in its metadata once the idempotency key
  // is pruned (https://docs.stripe.com/search); listed before `{intent}`, which would match it too.
  "/v1/payment_intents/search": ["get"],
  "/v1/payment_intents/{intent}": ["get"],
  "/v1/payment_intents/{intent}/confirm": ["post"],
  "/v1/payment_intents/{intent}/capture": ["post"],
  "/v1/payment_intents/{intent}/cancel": ["post"],
  "/v1/refunds": ["get", "post"],
  "/v1/refunds/{refund}": ["get"],
  "/v1/payment_methods/{payment_method}": ["get"],
  "/v1/customers": ["post"],
  "/v1/customers/{customer}": ["get", "delete"],
  "/v1/events/{id}": ["get"],
  // Issue 71: a card saved for later without holding money (https://docs.stripe.com/payments/save-and-reuse).
  "/v1/setup_intents": ["post"],
  "/v1/setup_intents/{intent}": ["get"],
  "/v1/setup_intents/{intent}/confirm": ["post"],
  // Issue 71: a card's saving no one completed is canceled (https://docs.stripe.com/api/setup_intents/cancel).
  "/v1/setup_intents/{intent}/cancel": ["post"],
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Drops prose: `description` and `summary` strings, except where they name a property. */
function withoutProse(node: Json, inPropertyMap = false): Json {
  if (Array.isArray(node)) return node.map((item) => withoutProse(item));
  if (node === null || typeof node !== "object") return node;
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) {
    if (!inPropertyMap && (key === "description" || key === "summary") && typeof value === "string") continue;
    out[key] = withoutProse(value, key === "properties" || key === "encoding");
  }
  return out;
}

function references(node: Json, found: Set<string>, queue: string[]): void {
  if (Array.isArray(node)) {
    for (const item of node) references(item, found, queue);
    return;
  }
  if (node === null || typeof node !== "object") return;
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" && typeof value === "string") {
      const name = value.replace("#/components/schemas/", "");
      if (!found.has(name)) {
        found.add(name);
        queue.push(name);
      }
    } else references(value, found, queue);
  }
}

export function trim(
  spec: { [key: string]: Json },
  source: { [key: string]: Json },
): { [key: string]: Json } {
  const paths = spec.paths as { [path: string]: { [method: string]: Json } };
  const schemas = (spec.components as { schemas: { [name: string]: Json } }).schemas;
  const keptPaths: { [path: string]: { [method: string]: Json } } = {};
  const found = new Set<string>();
  const queue: string[] = [];
  for (const [path, methods] of Object.entries(OPERATIONS)) {
    const item = paths[path];
    if (!item) throw new Error(`the document has no path ${path}`);
    keptPaths[path] = {};
    for (const method of methods) {
      const operation = item[method];
      if (!operation) throw new Error(`the document has no ${method} ${path}`);
      keptPaths[path][method] = withoutProse(operation);
      references(operation, found, queue);
    }
  }
  while (queue.length > 0) references(schemas[queue.shift() as string] as Json, found, queue);
  const keptSchemas: { [name: string]: Json } = {};
  for (const name of [...found].sort()) keptSchemas[name] = withoutProse(schemas[name] as Json);
  const info = spec.info as { [key: string]: Json };
  return {
    openapi: spec.openapi as Json,
    info: { title: info.title as Json, version: info.version as Json, "x-source": source },
    servers: spec.servers as Json,
    paths: keptPaths,
    components: { schemas: keptSchemas },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, commit, committed, path = "openapi/spec3.yaml"] = process.argv.slice(2);
  if (!file || !commit || !committed) {
    console.error("usage: trim-openapi.ts <spec3.yaml|spec3.json> <commit> <commit date> [path in repo]");
    process.exit(2);
  }
  const text = readFileSync(file, "utf8");
  const spec = (file.endsWith(".json") ? JSON.parse(text) : parse(text, { maxAliasCount: -1 })) as {
    [key: string]: Json;
  };
  const source = {
    repository: "https://github.com/stripe/openapi",
    path,
    commit,
    committed,
    trimmed: new Date().toISOString().slice(0, 10),
    kept: "the operations the test server serves and the schemas they reference; descriptions dropped",
    note: "the newest spec3 whole in the mirror at trimming time; the stripe SDK may speak a newer API version",
  };
  const out = fileURLToPath(new URL("./openapi-trimmed.json", import.meta.url));
  writeFileSync(out, `${JSON.stringify(trim(spec, source), null, 2)}\n`);
  execFileSync("npx", ["biome", "format", "--write", out], { stdio: "inherit" });
  console.log(`wrote ${out}`);
}
