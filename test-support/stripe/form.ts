/**
 * Stripe's form encoding, as its SDKs send it: `metadata[reservationId]=r-1`,
 * `expand[0]=latest_charge`, `payment_method_types[]=card`. Values stay strings; the contract
 * validator coerces them to the schema's types (integers, booleans).
 */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };

function keyPath(name: string): string[] {
  const first = /^[^[]*/.exec(name)?.[0] ?? "";
  const rest = [...name.slice(first.length).matchAll(/\[([^\]]*)\]/g)].map((m) => m[1] as string);
  return [first, ...rest];
}

function put(target: { [key: string]: FormValue }, path: string[], value: string): void {
  const [head, ...tail] = path;
  if (head === undefined) return;
  const key = head === "" ? String(Object.keys(target).length) : head;
  if (tail.length === 0) {
    target[key] = value;
    return;
  }
  const existing = target[key];
  const child =
    existing !== undefined && typeof existing === "object" && !Array.isArray(existing) ? existing : {};
  target[key] = child;
  put(child, tail, value);
}

/** Objects whose keys are exactly 0..n-1 are the SDK's arrays. */
function arrays(value: FormValue): FormValue {
  if (typeof value === "string" || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const converted = Object.fromEntries(keys.map((k) => [k, arrays(value[k] as FormValue)]));
  const indexed = keys.length > 0 && keys.every((k, i) => k === String(i));
  return indexed ? keys.map((k) => converted[k] as FormValue) : converted;
}

export function parseForm(text: string): { [key: string]: FormValue } {
  const root: { [key: string]: FormValue } = {};
  for (const [name, value] of new URLSearchParams(text)) put(root, keyPath(name), value);
  return arrays(root) as { [key: string]: FormValue };
}

/** The inverse, for tests and tools that speak to the server without the SDK. */
export function encodeForm(params: Record<string, unknown>, prefix = ""): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    const name = prefix ? `${prefix}[${key}]` : key;
    if (value !== null && typeof value === "object") {
      const inner = encodeForm(value as Record<string, unknown>, name);
      if (inner) parts.push(inner);
    } else parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(value ?? ""))}`);
  }
  return parts.join("&");
}
