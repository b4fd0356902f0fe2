/**
 * Where a claim sits in a token's payload, written three ways: a dot path (`realm_access.roles`),
 * a JSON pointer (RFC 6901: `/https:~1~1example.com~1roles` or `/realm_access/roles`), or dot
 * segments where a quoted one may hold dots, slashes, spaces (`"https://example.com/roles"`,
 * `app_metadata."parking.lots"`). Auth0's namespaced claims need one of the last two.
 */

/** The keys of `path`, outermost first; undefined when it is not a claim path. */
export function claimPathSegments(path: string): string[] | undefined {
  if (path === "" || path.length > 300) return undefined;
  if (path.startsWith("/")) {
    const segments = path
      .slice(1)
      .split("/")
      .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    return segments.every((s) => s !== "") ? segments : undefined;
  }
  const segments: string[] = [];
  let rest = path;
  while (true) {
    let segment: string;
    if (rest.startsWith('"')) {
      const end = rest.indexOf('"', 1);
      if (end <= 1) return undefined;
      segment = rest.slice(1, end);
      rest = rest.slice(end + 1);
    } else {
      const match = /^[A-Za-z0-9_:/-]+/.exec(rest);
      if (!match) return undefined;
      segment = match[0];
      rest = rest.slice(segment.length);
    }
    segments.push(segment);
    if (rest === "") return segments;
    if (!rest.startsWith(".")) return undefined;
    rest = rest.slice(1);
  }
}

/**
 * The quoted form of a dot path that holds an unquoted URL (`https://example.com/roles`, or
 * `app_metadata.https://example.com/roles`), which the dot syntax splits at the URL's dots into
 * keys no provider sends, so it never matches; undefined for any other path. What to write is the
 * URL quoted as one key: `"https://example.com/roles"`.
 */
export function quotedUrlClaimPath(path: string): string | undefined {
  if (path.startsWith("/") || path.includes('"')) return undefined;
  const url = /(^|\.)([A-Za-z][A-Za-z0-9+-]*:\/\/.*)$/.exec(path);
  if (!url || claimPathSegments(path) === undefined) return undefined;
  return `${path.slice(0, url.index + (url[1] as string).length)}"${url[2]}"`;
}

/** The value at `path` in `payload` (own properties only), undefined where a step is missing. */
export function claimAt(payload: unknown, path: string): unknown {
  let value: unknown = payload;
  for (const step of claimPathSegments(path) ?? []) {
    value =
      value !== null && typeof value === "object" && Object.hasOwn(value, step)
        ? (value as Record<string, unknown>)[step]
        : undefined;
  }
  return value;
}
