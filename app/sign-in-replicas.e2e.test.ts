import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInUrl } from "../test-support/auth.js";
import { startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * Two replicas on one DATA_DIR (one document store): a sign-in link opened on one is refused by
 * the other, so a link that leaked after use cannot sign anyone in behind a load balancer.
 */
describe("sign-in links across replicas", () => {
  const data = tempDataDir("parking-sign-in-");
  let first: RunningService;
  let second: RunningService;

  beforeAll(async () => {
    first = await startTestService(data.dir);
    second = await startTestService(data.dir);
  });
  afterAll(async () => {
    await first?.shutdown("test done");
    await second?.shutdown("test done");
    data.remove();
  });

  it("works once, on whichever replica opens it first", async () => {
    const link = new URL(await signInUrl(data.dir, first.url));
    const onFirst = await fetch(`${first.url}/sign-in${link.search}`, { redirect: "manual" });
    expect(onFirst.status).toBe(200);
    expect(onFirst.headers.get("set-cookie")).toMatch(/^parking_session=/);
    const onSecond = await fetch(`${second.url}/sign-in${link.search}`, { redirect: "manual" });
    expect(onSecond.status).toBe(401);
    expect(await onSecond.json()).toMatchObject({ type: "/problems/sign-in-failed" });
    expect(onSecond.headers.get("set-cookie")).toBeNull();
  });
});
