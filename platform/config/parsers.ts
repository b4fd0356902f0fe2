import path from "node:path";
import { claimPathSegments, quotedUrlClaimPath } from "../auth/claim-path.js";
import { ASYMMETRIC_ALGORITHMS } from "./values.js";

/**
 * How one environment variable's text becomes a value: what it accepts (in words, for problems
 * and the docs) and the parse itself.
 */
export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason?: string };

export interface Parser<T> {
  readonly expects: string;
  /** `raw` is trimmed and non-empty, or undefined when the variable is unset and has no default. */
  readonly parse: (raw: string | undefined) => Parsed<T>;
  /** How a received value is shown in a problem (URLs hide their password). */
  readonly display?: (raw: string) => string;
  /**
   * What to say at start about a value that parses but is most likely not what was meant (a
   * warning, not a refusal); undefined when there is nothing to say.
   */
  readonly advise?: (value: string) => string | undefined;
}

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const fail = (reason?: string): Parsed<never> =>
  reason === undefined ? { ok: false } : { ok: false, reason };

export function integer(min: number, max?: number): Parser<number> {
  const expects = max === undefined ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
  return {
    expects,
    parse: (raw) => {
      if (raw === undefined || !/^[+-]?\d+$/.test(raw)) return fail();
      const value = Number(raw);
      if (!Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
        return fail("out of range");
      }
      return ok(value);
    },
  };
}

/** A share from 0 to 1 (a decimal number). */
export const ratio: Parser<number> = {
  expects: "a number from 0 to 1",
  parse: (raw) => {
    if (raw === undefined || !/^(?:0|1|0?\.\d+|1\.0+)$/.test(raw)) return fail();
    return ok(Number(raw));
  },
};

export function oneOf<const T extends readonly string[]>(values: T): Parser<T[number]> {
  const isValue = (raw: string): raw is T[number] => values.includes(raw);
  return {
    expects: `one of ${values.join(", ")}`,
    parse: (raw) => (raw !== undefined && isValue(raw) ? ok(raw) : fail()),
  };
}

/** Makes a parser of an optional variable: unset (and no default) means `undefined`. */
export function optional<T>(parser: Parser<T>): Parser<T | undefined> {
  return { ...parser, parse: (raw) => (raw === undefined ? ok(undefined) : parser.parse(raw)) };
}

export const directory: Parser<string> = {
  expects: "a directory path (relative paths resolve against the working directory)",
  parse: (raw) => (raw === undefined || raw.includes("\0") ? fail() : ok(path.resolve(raw))),
};

export const webOrigin: Parser<string> = {
  expects: "an origin: http(s)://host[:port], no path",
  parse: (raw) =>
    raw !== undefined && /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/.test(raw) ? ok(raw) : fail(),
};

export function listOf(item: Parser<string>, what: string): Parser<readonly string[]> {
  return {
    expects: `a comma-separated list of ${what}`,
    ...(item.advise ? { advise: item.advise } : {}),
    parse: (raw) => {
      if (raw === undefined) return fail();
      const items = raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
      if (items.length === 0) return fail();
      for (const entry of items) {
        const parsed = item.parse(entry);
        if (!parsed.ok) return fail(`"${entry}" is not ${item.expects}`);
      }
      return ok([...new Set(items)]);
    },
  };
}

export const algorithm: Parser<string> = {
  expects: `one of ${ASYMMETRIC_ALGORITHMS.join(", ")}`,
  parse: (raw) =>
    raw !== undefined && (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(raw) ? ok(raw) : fail(),
};

export const claimPath: Parser<string> = {
  expects:
    'a claim name or dot path such as realm_access.roles, a JSON pointer such as /https:~1~1example.com~1roles, or quoted segments such as "https://example.com/roles"',
  parse: (raw) => (raw !== undefined && claimPathSegments(raw) !== undefined ? ok(raw) : fail()),
  advise: (value) => {
    const quoted = quotedUrlClaimPath(value);
    return quoted === undefined
      ? undefined
      : `${JSON.stringify(value)} is split at the dots of its URL and can never match a claim; quote the URL as one key: ${quoted}`;
  },
};

export const grantPrefix: Parser<string> = {
  expects: "printable characters without spaces, at most 100 (e.g. lots:), or - for none",
  parse: (raw) =>
    raw === "-" ? ok("") : raw !== undefined && /^[\x21-\x7E]{1,100}$/.test(raw) ? ok(raw) : fail(),
};

/** A name for this deployment that a provider's metadata holds (STRIPE_INSTANCE). */
export const instanceName: Parser<string> = {
  expects: "letters, digits, _ . : or -, at most 100 (e.g. production-eu)",
  parse: (raw) => (raw !== undefined && /^[A-Za-z0-9_.:-]{1,100}$/.test(raw) ? ok(raw) : fail()),
};

export const httpUrl: Parser<string> = {
  expects: "an absolute http:// or https:// URL",
  parse: (raw) => {
    if (raw === undefined || /\s/.test(raw)) return fail();
    try {
      const url = new URL(raw);
      return url.protocol === "http:" || url.protocol === "https:" ? ok(raw) : fail("not http(s)");
    } catch {
      return fail();
    }
  },
};

export const issuerIdentifier: Parser<string> = {
  expects: "the issuer identifier: an absolute https:// (or http://) URL, exactly as tokens carry it in iss",
  parse: (raw) => (raw !== undefined && /^(https?:\/\/|urn:)\S+$/.test(raw) ? ok(raw) : fail()),
};

export const boolean: Parser<boolean> = {
  expects: "true or false",
  parse: (raw) => (raw === "true" ? ok(true) : raw === "false" ? ok(false) : fail()),
};

/** Our roles a provider's role or group name may count as. */
export const MAPPED_ROLES = ["customer", "operator", "attendant", "admin", "gate"] as const;
export type MappedRole = (typeof MAPPED_ROLES)[number];

export const roleMap: Parser<Readonly<Record<string, MappedRole>>> = {
  expects: `a comma-separated list of provider-role=role (role: ${MAPPED_ROLES.join(", ")}); a name may hold spaces`,
  parse: (raw) => {
    if (raw === undefined) return fail();
    const map: Record<string, MappedRole> = {};
    if (raw === "-") return ok(map);
    for (const entry of raw.split(",").map((s) => s.trim())) {
      const match = /^([^=,]{1,100}?)\s*=\s*([a-z]+)$/.exec(entry);
      const role = match?.[2] as MappedRole | undefined;
      if (!match?.[1] || role === undefined || !MAPPED_ROLES.includes(role))
        return fail(`"${entry}" is not name=${MAPPED_ROLES.join("|")}`);
      map[match[1].trim()] = role;
    }
    return ok(map);
  },
};

export const tokenType: Parser<string> = {
  expects: "a JWS typ value such as at+jwt or JWT",
  parse: (raw) => (raw !== undefined && /^[A-Za-z0-9.+/_-]{1,100}$/.test(raw) ? ok(raw) : fail()),
};

export const absoluteUri: Parser<string> = {
  expects: "an absolute URI without a fragment (https://api.example.com or urn:…)",
  parse: (raw) => (raw !== undefined && /^[a-z][a-z0-9+.-]*:[^\s#]+$/i.test(raw) ? ok(raw) : fail()),
};

export const scope: Parser<string> = {
  expects: "space-separated scope names",
  parse: (raw) =>
    raw !== undefined &&
    /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/.test(raw) &&
    raw.length <= 1000
      ? ok(raw)
      : fail(),
};

export const audience: Parser<string> = {
  expects: "a non-empty audience without spaces",
  parse: (raw) => (raw !== undefined && /^\S{1,200}$/.test(raw) ? ok(raw) : fail()),
};

export const secret: Parser<string> = {
  expects: "a random secret of at least 32 characters",
  display: () => "(hidden)",
  parse: (raw) => (raw !== undefined && raw.length >= 32 ? ok(raw) : fail("too short")),
};

/** A provider's API key or signing secret (Stripe's `sk_...`, `whsec_...`): hidden in messages. */
export const providerKey: Parser<string> = {
  expects: "a key without spaces, 8 to 500 characters (e.g. sk_test_... or whsec_...)",
  display: () => "(hidden)",
  parse: (raw) => (raw !== undefined && /^[\x21-\x7E]{8,500}$/.test(raw) ? ok(raw) : fail()),
};

export const clientId: Parser<string> = {
  expects: "a client id: letters, digits and - _ . :",
  parse: (raw) => (raw !== undefined && /^[A-Za-z0-9._:-]{1,100}$/.test(raw) ? ok(raw) : fail()),
};
