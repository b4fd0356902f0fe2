/*
 * What copying an object and adding one property costs, by how it is written, on the Node.js that
 * runs this (BENCHMARKS.md, eleventh pass). On Node 20 (V8 11.3) a property added to a spread copy,
 * `{ ...o, k: v }` or `{ ...o }` then `copy.k = v`, takes V8's slow path, some 0.4–0.6 µs where the
 * other ways take tens of ns; Node 22 has no such cost. The service's code runs on both.
 *
 *   npx tsx bench/object-spread.ts        env: N (copies a pattern, 1,000,000)
 */

const n = Number(process.env.N ?? 1_000_000);

/** A fresh source each time, as a request's objects are. */
const source = (i: number) => ({
  "http.request.method": "POST",
  "url.path": "/parking-lots/1/reservations",
  i,
});

type Pattern = (i: number) => Record<string, unknown>;

const patterns: Record<string, Pattern> = {
  "{ ...o, k: v }": (i) => ({ ...source(i), k: i }),
  "{ ...o } then copy.k = v": (i) => {
    const copy: Record<string, unknown> = { ...source(i) };
    copy.k = i;
    return copy;
  },
  "Object.assign({}, o) then copy.k = v": (i) => {
    const copy: Record<string, unknown> = Object.assign({}, source(i));
    copy.k = i;
    return copy;
  },
  "{ k: v, ...o }": (i) => ({ k: i, ...source(i) }),
  "{ ...o }": (i) => ({ ...source(i) }),
  "o then o.k = v (no copy)": (i) => {
    const o: Record<string, unknown> = source(i);
    o.k = i;
    return o;
  },
};

let kept = 0;
const nsPerCopy = (pattern: Pattern): number => {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) kept += pattern(i).i === i ? 1 : 0;
  return Number(process.hrtime.bigint() - start) / n;
};

console.log(`Node ${process.version}, ${n.toLocaleString("en")} copies a pattern, the fastest of 3 runs`);
for (const [name, pattern] of Object.entries(patterns)) {
  const runs = [nsPerCopy(pattern), nsPerCopy(pattern), nsPerCopy(pattern)];
  console.log(
    `${name.padEnd(40)} ${Math.min(...runs)
      .toFixed(0)
      .padStart(5)} ns`,
  );
}
if (kept !== n * 3 * Object.keys(patterns).length) throw new Error("a copy lost what it copied");
