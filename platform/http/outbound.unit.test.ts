import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import {
  guardedLookup,
  isPrivateAddress,
  OutboundClient,
  type Resolver,
  targetUrlProblem,
} from "./outbound.js";

describe("outbound requests to addresses the service does not control", () => {
  it("knows loopback, private, link-local, unique-local and mapped addresses from public ones", () => {
    for (const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.20.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "0.0.0.0",
      "100.64.0.1",
    ])
      expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ["::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::"])
      expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ["93.184.216.34", "8.8.8.8", "2606:4700::6810:85e5", "::ffff:8.8.8.8"])
      expect(isPrivateAddress(a), a).toBe(false);
  });

  it("takes https URLs only (http and private hosts only when allowed), without credentials", () => {
    expect(targetUrlProblem("https://example.com/hooks", false)).toBeUndefined();
    expect(targetUrlProblem("http://example.com/hooks", false)).toMatch(/https/);
    expect(targetUrlProblem("ftp://example.com/x", true)).toMatch(/http or https/);
    expect(targetUrlProblem("https://127.0.0.1/x", false)).toMatch(/loopback/);
    expect(targetUrlProblem("https://[::1]/x", false)).toMatch(/loopback/);
    expect(targetUrlProblem("https://localhost/x", false)).toMatch(/this machine/);
    expect(targetUrlProblem("https://a:b@example.com/x", false)).toMatch(/credentials/);
    expect(targetUrlProblem("not a url", false)).toMatch(/absolute/);
    expect(targetUrlProblem("http://127.0.0.1:8080/x", true)).toBeUndefined();
  });

  it("refuses, when the connection is made, a name that resolves to a private address (no DNS rebinding)", async () => {
    const lookup = (allow: boolean) =>
      new Promise<string>((resolve, reject) =>
        guardedLookup(allow)("localhost", { family: 4 }, (error, address) =>
          error ? reject(error) : resolve(String(address)),
        ),
      );
    await expect(lookup(false)).rejects.toThrow(/private address/);
    await expect(lookup(true)).resolves.toBe("127.0.0.1");
  });

  it("checks the address a name resolves to when connecting: a public name rebound to loopback is refused", async () => {
    const rebinding: Resolver = (_hostname, _options, callback) =>
      callback(null, [{ address: "127.0.0.1", family: 4 }]);
    const client = new OutboundClient({
      allowPrivate: false,
      timeoutMs: 5_000,
      maxBodyBytes: 4096,
      resolve: rebinding,
    });
    try {
      await expect(client.post("https://hooks.example.com/x", {}, "{}")).rejects.toThrow(/private address/);
    } finally {
      client.close();
    }
  });

  it("follows no redirect and reads at most the bound of an answer", async () => {
    const server = createServer((req, res) => {
      if (req.url === "/redirect") res.writeHead(302, { location: "/elsewhere" }).end();
      else res.writeHead(200).end("x".repeat(100_000));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new OutboundClient({ allowPrivate: true, timeoutMs: 5_000, maxBodyBytes: 4096 });
    try {
      expect((await client.post(`${base}/redirect`, {}, "{}")).status).toBe(302);
      const big = await client.post(`${base}/big`, {}, "{}");
      expect(big.body.length).toBe(4096);
      const strict = new OutboundClient({ allowPrivate: false, timeoutMs: 5_000, maxBodyBytes: 4096 });
      await expect(strict.post(`${base}/big`, {}, "{}")).rejects.toThrow(/https/);
      strict.close();
    } finally {
      client.close();
      server.close();
    }
  });
});
