import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { endSpan, linkedSpan, startSpan, startTracing } from "./tracing.js";

/**
 * The export pipeline on its own (issue 22): spans written as UTF-8 into chunks that are moved to
 * the export thread, and posted from there as OTLP/HTTP JSON to a receiver in the test. Every span
 * arrives once, in bodies that parse, whatever the chunk boundaries: many small spans (several
 * chunks' worth), a span larger than a chunk, text that is not ASCII.
 */
interface Body {
  readonly resourceSpans: {
    readonly resource: { readonly attributes: { key: string; value: { stringValue?: string } }[] };
    readonly scopeSpans: { readonly spans: { name: string; attributes: unknown[]; links: unknown[] }[] }[];
  }[];
}

describe("the OTLP export pipeline", () => {
  const bodies: Body[] = [];
  let receiver: Server;
  let endpoint = "";

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Body);
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => receiver.close(resolve)));

  it("delivers every span once, across chunks, oversized and non-ASCII ones included", async () => {
    const handle = startTracing({ endpoint, serviceName: "export-test" });
    expect(handle).toBeDefined();
    const many = 3_000;
    for (let i = 0; i < many; i++) {
      endSpan(
        startSpan(`span ${i}`, undefined, {
          attributes: { "parking.lot": `주차장 ${i} "${"x".repeat(40)}"` },
        }),
      );
    }
    // ~4,000 links: several hundred kilobytes, more than a chunk on its own.
    const traces = Array.from(
      { length: 4_000 },
      (_, i) => `00-${i.toString(16).padStart(32, "a")}-${i.toString(16).padStart(16, "b")}-01`,
    );
    endSpan(linkedSpan("a batch for many traces", traces));
    endSpan(startSpan("the last", undefined));
    await handle?.shutdown();

    const spans = bodies.flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    expect(spans).toHaveLength(many + 2);
    expect(new Set(spans.map((s) => s.name)).size).toBe(many + 2);
    expect(spans.find((s) => s.name === "span 7")?.attributes).toEqual([
      { key: "parking.lot", value: { stringValue: `주차장 7 "${"x".repeat(40)}"` } },
    ]);
    expect(spans.find((s) => s.name === "a batch for many traces")?.links).toHaveLength(4_000);
    expect(bodies.length).toBeGreaterThan(2);
    for (const body of bodies) {
      const service = body.resourceSpans[0]?.resource.attributes.find((a) => a.key === "service.name");
      expect(service?.value.stringValue).toBe("export-test");
    }
  });
});
