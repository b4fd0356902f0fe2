import { describe, expect, it } from "vitest";
import { Metrics } from "./metrics.js";

describe("the metrics' help", () => {
  it("names none of the team's tracker issues: operators read it outside the team", async () => {
    const metrics = await new Metrics().registry.getMetricsAsJSON();
    expect(metrics.length).toBeGreaterThan(10);
    expect(metrics.filter((m) => /\bissues? [0-9]/i.test(m.help)).map((m) => m.name)).toEqual([]);
  });
});
