import { describe, expect, it } from "vitest";
import { guardedLookup, OutboundClient, type Resolver, targetUrlProblem } from "./outbound.js";
import { specialPurpose } from "./special-addresses.js";

/**
 * Every spelling of a special-purpose address is refused without WEBHOOK_ALLOW_PRIVATE, as a URL's
 * IP literal and as what a name resolves to; public addresses pass. Each row: the address as
 * written in a URL's brackets (IPv6) or host (IPv4), and what it is.
 */
const SPECIAL: readonly (readonly [string, RegExp])[] = [
  // The spellings of loopback and site-local.
  ["64:ff9b::127.0.0.1", /NAT64 loopback/],
  ["::127.0.0.1", /IPv4-compatible/],
  ["::ffff:0:127.0.0.1", /IPv4-translated/],
  ["2002:7f00:1::1", /6to4 loopback/],
  ["fec0::1", /site-local/],
  // Loopback and unspecified, every way.
  ["127.0.0.1", /^loopback$/],
  ["127.255.255.254", /^loopback$/],
  ["::1", /^loopback$/],
  ["0:0:0:0:0:0:0:1", /^loopback$/],
  ["::ffff:127.0.0.1", /IPv4-mapped loopback/],
  ["::ffff:7f00:1", /IPv4-mapped loopback/],
  ["64:ff9b::7f00:1", /NAT64 loopback/],
  ["0.0.0.0", /this network/],
  ["0.1.2.3", /this network/],
  ["::", /unspecified/],
  // Private, shared, link-local (cloud metadata), in IPv4 and carried in IPv6.
  ["10.0.0.1", /^private$/],
  ["172.31.255.255", /^private$/],
  ["192.168.1.1", /^private$/],
  ["::ffff:10.0.0.1", /IPv4-mapped private/],
  ["64:ff9b::192.168.0.1", /NAT64 private/],
  ["2002:c0a8:101::1", /6to4 private/],
  ["100.64.0.1", /carrier-grade NAT/],
  ["169.254.169.254", /^link-local$/],
  ["64:ff9b::169.254.169.254", /NAT64 link-local/],
  ["fe80::1", /^link-local$/],
  ["fe80::1%eth0", /^link-local$/],
  ["fc00::1", /unique-local/],
  ["fd12:3456:789a::1", /unique-local/],
  // NAT64 for local use, Teredo, IETF assignments, benchmarking, documentation, discard.
  ["64:ff9b:1::a00:1", /local-use NAT64/],
  ["2001:0:4136:e378:8000:63bf:3fff:fdd2", /Teredo/],
  ["2001:2::1", /benchmarking/],
  ["198.18.0.1", /benchmarking/],
  ["198.19.255.255", /benchmarking/],
  ["192.0.0.8", /IETF protocol assignment/],
  ["192.0.2.1", /documentation/],
  ["198.51.100.7", /documentation/],
  ["203.0.113.9", /documentation/],
  ["2001:db8::1", /documentation/],
  ["3fff::1", /documentation/],
  ["100::1", /discard-only/],
  ["192.88.99.1", /6to4 relay/],
  // Multicast, broadcast, reserved.
  ["224.0.0.1", /multicast/],
  ["239.255.255.250", /multicast/],
  ["ff02::1", /multicast/],
  ["ff05::1:3", /multicast/],
  ["255.255.255.255", /broadcast/],
  ["240.0.0.1", /reserved/],
  ["4000::1", /outside global unicast/],
  ["::2", /IPv4-compatible/],
];

const PUBLIC: readonly string[] = [
  "93.184.216.34",
  "8.8.8.8",
  "1.1.1.1",
  "100.128.0.1", // just past 100.64/10
  "172.32.0.1", // just past 172.16/12
  "198.20.0.1", // just past 198.18/15
  "2606:4700::6810:85e5",
  "2a00:1450:4001:80b::200e",
  "::ffff:8.8.8.8", // IPv4-mapped public
  "64:ff9b::8.8.8.8", // what DNS64 answers for a public IPv4-only name
  "2002:808:808::1", // 6to4 of a public address
];

const literal = (address: string) => (address.includes(":") ? `[${address}]` : address);

describe("outbound addresses by IANA's special-purpose registries", () => {
  it.each(SPECIAL)("%s is special-purpose (%s)", (address, what) => {
    expect(specialPurpose(address)).toMatch(what);
  });

  it.each(PUBLIC)("%s is public", (address) => {
    expect(specialPurpose(address)).toBeUndefined();
  });

  it("not an address is never connected to", () => {
    for (const text of ["", "example.com", "127.1", "1.2.3.256", "::g"])
      expect(specialPurpose(text), text).toBe("not an IP address");
  });

  it("a webhook URL with any special-purpose IP literal is refused without WEBHOOK_ALLOW_PRIVATE (allowed with it); public ones pass", () => {
    // Zone ids are not valid in URLs: the link-local row without its zone stands for it.
    for (const [address] of SPECIAL.filter(([a]) => !a.includes("%"))) {
      const url = `https://${literal(address)}/hooks`;
      expect(targetUrlProblem(url, false), url).toMatch(
        /must not be a loopback, private or other special-purpose address/,
      );
      expect(targetUrlProblem(url, true), url).toBeUndefined();
    }
    for (const address of PUBLIC) {
      const url = `https://${literal(address)}/hooks`;
      expect(targetUrlProblem(url, false), url).toBeUndefined();
    }
    // The URL parser's other spellings of IPv4 come to the same address.
    for (const url of ["https://0x7f.1/x", "https://2130706433/x", "https://0177.0.0.1/x", "https://127.1/x"])
      expect(targetUrlProblem(url, false), url).toMatch(/127\.0\.0\.1 is loopback/);
  });

  it("every address a name resolves to is classified when connecting: one special address among public ones refuses the name", async () => {
    for (const [address] of SPECIAL) {
      const resolve: Resolver = (_name, _options, callback) =>
        callback(null, [
          { address: "93.184.216.34", family: 4 },
          { address, family: address.includes(":") ? 6 : 4 },
        ]);
      const refused = await new Promise<Error | null>((done) =>
        guardedLookup(false, resolve)("hooks.example.com", { all: true }, (error) => done(error)),
      );
      expect(refused?.message, address).toMatch(/resolves to a private address/);
    }
    const publicOnly: Resolver = (_name, _options, callback) =>
      callback(
        null,
        PUBLIC.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
      );
    const accepted = await new Promise<Error | null>((done) =>
      guardedLookup(false, publicOnly)("hooks.example.com", { all: true }, (error) => done(error)),
    );
    expect(accepted).toBeNull();
  });

  it("an IP literal is checked again when a message is sent (an endpoint stored before its range was known is not called)", async () => {
    let resolved = 0;
    const client = new OutboundClient({
      allowPrivate: false,
      timeoutMs: 2_000,
      maxBodyBytes: 1024,
      resolve: (_name, _options, callback) => {
        resolved++;
        callback(null, [{ address: "93.184.216.34", family: 4 }]);
      },
    });
    try {
      for (const address of [
        "64:ff9b::127.0.0.1",
        "::127.0.0.1",
        "::ffff:0:127.0.0.1",
        "2002:7f00:1::1",
        "fec0::1",
      ])
        await expect(client.post(`https://[${address}]/hooks`, {}, "{}"), address).rejects.toThrow(
          /special-purpose address/,
        );
      expect(resolved).toBe(0);
    } finally {
      client.close();
    }
  });
});
