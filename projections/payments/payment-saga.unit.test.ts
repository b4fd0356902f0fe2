import { describe, expect, it } from "vitest";
import { noteOutage, type Outage } from "./payment-saga.js";

/** Issue 47: a provider outage is one WARN when it starts and one INFO when it ends, not a line per retry. */
describe("the payments process manager's outage log", () => {
  it("warns once when plans first meet the outage and tells once, with the retries made, when one goes through", () => {
    const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const logger = {
      warn: (fields: Record<string, unknown>, message: string) =>
        lines.push({ level: "warn", fields, message }),
      info: (fields: Record<string, unknown>, message: string) =>
        lines.push({ level: "info", fields, message }),
    } as never;
    const outage: { current?: Outage } = {};
    noteOutage(outage, ["done"], logger);
    noteOutage(outage, ["provider-out", "provider-out"], logger);
    for (let round = 0; round < 10; round++) noteOutage(outage, ["provider-out"], logger);
    noteOutage(outage, ["store-out"], logger);
    expect(lines.map((l) => l.level)).toEqual(["warn"]);
    noteOutage(outage, ["done", "provider-out"], logger);
    expect(lines.map((l) => l.level)).toEqual(["warn", "info"]);
    expect(lines[1]?.fields).toMatchObject({ retries: 13 });
    expect(lines[1]?.message).toMatch(/back/);
    noteOutage(outage, ["done"], logger);
    expect(lines).toHaveLength(2);
  });
});
