import { describe, expect, it } from "vitest";
import { prettyMessage, resolveLogOutput } from "./logger.js";

describe("log output", () => {
  it("auto is pretty on a terminal and JSON anywhere else; an explicit format wins", () => {
    expect(resolveLogOutput("auto", true)).toBe("pretty");
    expect(resolveLogOutput("auto", false)).toBe("json");
    expect(resolveLogOutput("json", true)).toBe("json");
    expect(resolveLogOutput("pretty", false)).toBe("pretty");
  });

  it("prints an access line as method, path, status, duration and correlation id", () => {
    const line = {
      msg: "request completed",
      correlationId: "c-1",
      req: { method: "POST", path: "/parking-lots/lot-1/reservations" },
      res: { statusCode: 201 },
      responseTime: 2.345,
    };
    expect(prettyMessage(line, "msg")).toBe("POST /parking-lots/lot-1/reservations 201 2.3 ms [c-1]");
    expect(prettyMessage({ ...line, msg: "request aborted" }, "msg")).toBe(
      "POST /parking-lots/lot-1/reservations 201 2.3 ms (request aborted) [c-1]",
    );
  });

  it("leaves every other line's message as it is", () => {
    expect(prettyMessage({ msg: "lease taken: working", processor: "reservations" }, "msg")).toBe(
      "lease taken: working",
    );
  });
});
