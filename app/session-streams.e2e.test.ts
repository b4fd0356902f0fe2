import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operatorHeaders, signInUrl, TEST_OPERATOR } from "../test-support/auth.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * A live-update stream opened on a browser session ends when the session does, on every replica:
 * revoked on one replica (POST /sessions/revoke), a stream held by another ends at its next check
 * (twice a second), not when the stream's five minutes are up.
 */
describe("live streams of a revoked session", () => {
  const data = tempDataDir("parking-session-streams-");
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

  it("ends the session's open stream on another replica once the session is revoked", async () => {
    const link = new URL(await signInUrl(data.dir, first.url));
    const signedIn = await fetch(`${first.url}/sign-in${link.search}`, { redirect: "manual" });
    const cookie = signedIn.headers.get("set-cookie")?.split(";")[0] ?? "";
    expect(cookie).toMatch(/^parking_session=/);
    // The stream, on the second replica, with the session cookie.
    const stream = await fetch(`${second.url}/control-center/events`, {
      headers: { cookie, accept: "text/event-stream" },
    });
    expect(stream.status).toBe(200);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes("\ndata: ")) text += new TextDecoder().decode((await reader.read()).value);

    const revoked = await call(
      first.url,
      "POST",
      "/sessions/revoke",
      { sub: TEST_OPERATOR },
      await operatorHeaders(data.dir),
    );
    expect(revoked.body).toMatchObject({ revoked: 1 });
    // Read until the server ends the stream (a guard fails the test if it never does).
    const ended = (async () => {
      for (;;) if ((await reader.read()).done) return "ended";
    })();
    const guard = new Promise((resolve) => setTimeout(() => resolve("still open"), 15_000).unref());
    expect(await Promise.race([ended, guard])).toBe("ended");
    // And the session no longer opens one.
    const again = await fetch(`${second.url}/control-center/events`, { headers: { cookie } });
    expect(again.status).toBe(401);
    await again.body?.cancel();
  });
});
