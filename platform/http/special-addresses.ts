import { BlockList, isIP } from "node:net";

/**
 * Which IP addresses are not public unicast, by IANA's special-purpose registries, for requests to
 * addresses the service does not control (webhooks): every spelling, IPv4 in IPv6 included.
 *
 * IPv4: https://www.iana.org/assignments/iana-ipv4-special-registry/ (every entry, even those
 * marked globally reachable: none is a place to send a webhook), multicast (RFC 5771) and the
 * reserved 240/4. IPv6: https://www.iana.org/assignments/iana-ipv6-special-registry/, and beyond
 * it everything outside global unicast 2000::/3 (RFC 4291: loopback, IPv4-compatible,
 * site-local fec0::/10, unique-local, link-local, multicast...). Three IPv6 forms carry an IPv4
 * address and are judged by it: IPv4-mapped ::ffff:a.b.c.d, NAT64's well-known prefix
 * 64:ff9b::a.b.c.d (RFC 6052: what a DNS64 resolver answers for a public IPv4-only name) and
 * 6to4 2002:AABB:CCDD::/48 (RFC 3056); their ranges are derived from the IPv4 table below, so
 * `64:ff9b::127.0.0.1`, `::ffff:10.0.0.1` and `2002:7f00:1::1` are loopback and private. The
 * lists are Node's `net.BlockList`, which reads any spelling of an address (inet_pton).
 */

/** The IPv4 special-purpose ranges and what each is; the more specific first, so it names a match. */
const IPV4: readonly (readonly [string, number, string])[] = [
  ["0.0.0.0", 8, "'this network'"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "shared (carrier-grade NAT)"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "IETF protocol assignment"],
  ["192.0.2.0", 24, "documentation"],
  ["192.31.196.0", 24, "AS112"],
  ["192.52.193.0", 24, "AMT"],
  ["192.88.99.0", 24, "6to4 relay anycast"],
  ["192.168.0.0", 16, "private"],
  ["192.175.48.0", 24, "AS112"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["255.255.255.255", 32, "broadcast"],
  ["240.0.0.0", 4, "reserved"],
];

/** The IPv6 special-purpose ranges that carry no IPv4 address to judge them by. */
const IPV6: readonly (readonly [string, number, string])[] = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["::", 96, "IPv4-compatible (deprecated)"],
  ["::ffff:0:0:0", 96, "IPv4-translated"],
  ["64:ff9b:1::", 48, "local-use NAT64"],
  ["100::", 64, "discard-only"],
  ["2001::", 32, "Teredo"],
  ["2001:2::", 48, "benchmarking"],
  ["2001:db8::", 32, "documentation"],
  ["2001::", 23, "IETF protocol assignment"],
  ["2620:4f:8000::", 48, "AS112"],
  ["3fff::", 20, "documentation"],
  ["5f00::", 16, "segment routing (SRv6)"],
  ["fc00::", 7, "unique-local"],
  ["fe80::", 10, "link-local"],
  ["fec0::", 10, "site-local (deprecated)"],
  ["ff00::", 8, "multicast"],
];

/** The IPv6 forms that carry an IPv4 address: where it sits (its first 16-bit group) and the prefix. */
const CARRIERS: readonly {
  readonly name: string;
  readonly at: (octets: number[]) => string;
  readonly bits: number;
}[] = [
  { name: "IPv4-mapped", at: ([a, b, c, d]) => `::ffff:${a}.${b}.${c}.${d}`, bits: 96 },
  { name: "NAT64", at: ([a, b, c, d]) => `64:ff9b::${a}.${b}.${c}.${d}`, bits: 96 },
  { name: "6to4", at: ([a, b, c, d]) => `2002:${hex(a, b)}:${hex(c, d)}::`, bits: 16 },
];

const hex = (high = 0, low = 0): string => ((high << 8) | low).toString(16);

interface Range {
  readonly what: string;
  readonly list: BlockList;
}

const range = (what: string, network: string, prefix: number, family: "ipv4" | "ipv6"): Range => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { what, list };
};

const IPV4_RANGES: readonly Range[] = IPV4.map(([network, prefix, what]) =>
  range(what, network, prefix, "ipv4"),
);

const IPV6_RANGES: readonly Range[] = [
  ...CARRIERS.flatMap(({ name, at, bits }) =>
    IPV4.map(([network, prefix, what]) =>
      range(`${name} ${what}`, at(network.split(".").map(Number)), bits + prefix, "ipv6"),
    ),
  ),
  ...IPV6.map(([network, prefix, what]) => range(what, network, prefix, "ipv6")),
];

/** IPv6 forms whose public IPv4 address makes them public (the special ones are in IPV6_RANGES). */
const CARRYING_PUBLIC = new BlockList();
CARRYING_PUBLIC.addSubnet("::ffff:0:0", 96, "ipv6");
CARRYING_PUBLIC.addSubnet("64:ff9b::", 96, "ipv6");

const GLOBAL_UNICAST = new BlockList();
GLOBAL_UNICAST.addSubnet("2000::", 3, "ipv6");

/**
 * What kind of special-purpose address `address` is ("loopback", "NAT64 loopback", "site-local
 * (deprecated)"...), or undefined for a public unicast address. Text that is not an IP address is
 * "not an IP address" (special too: never connected to).
 */
export function specialPurpose(address: string): string | undefined {
  // A zone (fe80::1%eth0) only says which interface: the address decides.
  const bare = address.replace(/%.*$/, "");
  const family = isIP(bare);
  if (family === 4) return IPV4_RANGES.find((r) => r.list.check(bare, "ipv4"))?.what;
  if (family !== 6) return "not an IP address";
  const special = IPV6_RANGES.find((r) => r.list.check(bare, "ipv6"));
  if (special) return special.what;
  if (CARRYING_PUBLIC.check(bare, "ipv6") || GLOBAL_UNICAST.check(bare, "ipv6")) return undefined;
  return "reserved (outside global unicast 2000::/3)";
}
