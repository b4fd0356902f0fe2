import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OtlpReceiver, startOtlpReceiver } from "../test-support/otlp.js";
import { OTLP_PROTOCOLS } from "./config/values.js";
import { endSpan, linkedSpan, startSpan, startTracing } from "./tracing.js";

/**
 * The export pipeline on its own (issue 22): spans written into chunks that are moved to the
 * export thread, and posted from there over OTLP/HTTP, in either encoding, to a receiver in the
 * test. Every span arrives once, in bodies that decode, whatever the chunk boundaries: many small
 * spans (several chunks' worth), a span larger than a chunk, text that is not ASCII.
 */
describe.each(OTLP_PROTOCOLS)("the OTLP export pipeline (%s)", (protocol) => {
  let receiver: OtlpReceiver;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(() => receiver.close());

  it("delivers every span once, across chunks, oversized and non-ASCII ones included", async () => {
    const handle = startTracing({ endpoint: receiver.endpoint, protocol, serviceName: "export-test" });
    expect(handle).toBeDefined();
    const many = 3_000;
    for (let i = 0; i < many; i++) {
      endSpan(
        startSpan(`span ${i}`, undefined, {
          attributes: { "parking.lot": `주차장 ${i} "${"x".repeat(40)}"` },
        }),
      );
    }
    // 8,000 links: about 300 KB in protobuf, 900 KB in JSON: more than a chunk on its own in either.
    const traces = Array.from(
      { length: 8_000 },
      (_, i) => `00-${i.toString(16).padStart(32, "a")}-${i.toString(16).padStart(16, "b")}-01`,
    );
    endSpan(linkedSpan("a batch for many traces", traces));
    endSpan(startSpan("the last", undefined));
    await handle?.shutdown();

    const spans = receiver.spans();
    expect(spans).toHaveLength(many + 2);
    expect(new Set(spans.map((s) => s.name)).size).toBe(many + 2);
    expect(spans.find((s) => s.name === "span 7")?.attributes).toEqual([
      { key: "parking.lot", value: { stringValue: `주차장 7 "${"x".repeat(40)}"` } },
    ]);
    expect(spans.find((s) => s.name === "a batch for many traces")?.links).toHaveLength(8_000);
    expect(receiver.bodies.length).toBeGreaterThan(2);
    expect([...receiver.contentTypes]).toEqual([
      protocol === "http/json" ? "application/json" : "application/x-protobuf",
    ]);
    for (const body of receiver.bodies) {
      const service = body.resourceSpans?.[0]?.resource?.attributes?.find((a) => a.key === "service.name");
      expect(service?.value.stringValue).toBe("export-test");
    }
  });
});
