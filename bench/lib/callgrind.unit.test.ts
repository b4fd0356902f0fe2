import { describe, expect, it } from "vitest";
import { countedRatios } from "../scenarios/tracing-counted.js";
import {
  countsMatching,
  countsOf,
  selfEvents,
  steady,
  V8_COMPILERS,
  V8_MAJOR_COLLECTIONS,
} from "./callgrind.js";

const header = (events: string, summary: string) =>
  `# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npositions: line\nevents: ${events}\nsummary: ${summary}\n\nfn=(1) main\n1 5\ntotals: 999\n`;

describe("callgrind counts", () => {
  it("reads instructions, and counts each as a cycle without the cache simulation", () => {
    expect(countsOf(header("Ir", "2999784163"))).toEqual({
      instructions: 2999784163,
      estimatedCycles: 2999784163,
    });
  });

  it("estimates cycles from the simulated caches: L1 hit 1, last-level hit 5, memory 35", () => {
    // 1,000 instructions, 400 reads, 100 writes: 1,500 accesses; 60 L1 misses, 10 of them to memory.
    const counts = countsOf(header("Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw", "1000 400 100 20 30 10 2 5 3"));
    expect(counts).toEqual({ instructions: 1000, estimatedCycles: 1440 + 5 * 50 + 35 * 10 });
  });

  it("prefers the summary line to the totals line", () => {
    expect(countsOf(header("Ir", "10")).instructions).toBe(10);
  });

  it("refuses what is not a callgrind output", () => {
    expect(() => countsOf("hello")).toThrow(/not a callgrind output/);
    expect(() => countsOf(header("Dr", "5"))).toThrow(/instructions/);
  });
});

describe("each function's own work", () => {
  // main calls the compiler (its call line's cost, 700, is the callee's, not main's) and runs
  // JIT-compiled code (no name); the compiler's second block comes after a switch of file.
  const output = [
    "# callgrind format",
    "positions: line",
    "events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw",
    "summary: 1000 300 100 10 20 5 1 2 1",
    "",
    "fn=(1) main",
    "0 200 50 20",
    "cfn=(2) v8::internal::compiler::PipelineImpl::Run()",
    "calls=3 0",
    "0 700 200 60 8 10 3 1 1 1",
    "+2 40 10",
    "fn=(2)",
    "0 500 150 50 6 8 2 1",
    "fl=other.cc",
    "fn=(2)",
    "* 100 50 10 2 2 1 0 1 1",
    "fn=0x0000000818b61300",
    "0 160 40 20 2",
    "totals: 1000 300 100 10 20 5 1 2 1",
  ].join("\n");

  it("sums each function's cost lines, leaving out what its calls cost", () => {
    const self = selfEvents(output);
    expect(self.get("main")).toEqual([240, 60, 20]);
    expect(self.get("v8::internal::compiler::PipelineImpl::Run()")).toEqual([
      600, 200, 60, 8, 10, 3, 1, 1, 1,
    ]);
    expect(self.get("0x0000000818b61300")).toEqual([160, 40, 20, 2]);
    // Every instruction once: the functions' own work adds up to the program's.
    const instructions = [...self.values()].reduce((sum, values) => sum + (values[0] ?? 0), 0);
    expect(instructions).toBe(countsOf(output).instructions);
  });

  it("counts the functions a pattern names, in instructions and estimated cycles", () => {
    // 600 + 200 + 60 = 860 accesses, 21 L1 misses, 3 of them to memory.
    expect(countsMatching(output, V8_COMPILERS)).toEqual({
      instructions: 600,
      estimatedCycles: 860 - 21 + 5 * 18 + 35 * 3,
    });
    expect(countsMatching(output, /^nothing$/)).toEqual({ instructions: 0, estimatedCycles: 0 });
  });
});

describe("what is left out of a steady count", () => {
  const names = {
    compiler: "v8::internal::compiler::PipelineImpl::OptimizeGraph(v8::internal::compiler::Linkage*)",
    parser: "v8::internal::Parser::ParseFunction(v8::internal::Isolate*)",
    marking:
      "void v8::internal::MarkingVisitorBase<v8::internal::ConcurrentMarkingVisitor, v8::internal::ConcurrentMarkingState>::ProcessStrongHeapObject()",
    sweeping: "v8::internal::Sweeper::RawSweep(v8::internal::Page*)",
    scavenge: "heap::base::SlotCallbackResult v8::internal::Scavenger::ScavengeObject()",
    builtin: "Builtins_LoadIC",
    sqlite: "sqlite3VdbeExec",
  };

  it("names V8's compilers, and nothing the requests run", () => {
    expect(V8_COMPILERS.test(names.compiler)).toBe(true);
    expect(V8_COMPILERS.test(names.parser)).toBe(true);
    for (const other of [names.marking, names.scavenge, names.builtin, names.sqlite]) {
      expect(V8_COMPILERS.test(other)).toBe(false);
    }
  });

  it("a steady count is the whole less what the compilers and the major collections did", () => {
    const counts = (instructions: number, estimatedCycles: number) => ({ instructions, estimatedCycles });
    expect(
      steady({ all: counts(1000, 1500), compilers: counts(300, 400), majorCollections: counts(100, 250) }),
    ).toEqual(counts(600, 850));
  });

  it("names the major collections' marking and sweeping, not the scavenges that follow allocation", () => {
    expect(V8_MAJOR_COLLECTIONS.test(names.marking)).toBe(true);
    expect(V8_MAJOR_COLLECTIONS.test(names.sweeping)).toBe(true);
    for (const other of [names.scavenge, names.compiler, names.builtin, names.sqlite]) {
      expect(V8_MAJOR_COLLECTIONS.test(other)).toBe(false);
    }
  });
});

describe("counted loads, each of the second kind against its neighbours", () => {
  const load = (second: boolean, instructions: number, estimatedCycles = instructions) => ({
    second,
    requests: 300,
    perRequest: { instructions, estimatedCycles },
  });

  it("reads each second-kind load against the mean of the loads before and after it", () => {
    const ratios = countedRatios([
      load(false, 100),
      load(true, 110, 121),
      load(false, 100),
      load(true, 115, 115),
      load(false, 110),
    ]);
    expect(ratios.pairs).toBe(2);
    // 110 / 100 and 115 / 105; cycles 121 / 100 and 115 / 105.
    expect(ratios.instructions).toEqual({ median: 1.0976, min: 1.0952, max: 1.1 });
    expect(ratios.cycles).toEqual({ median: 1.1526, min: 1.0952, max: 1.21 });
    // The first kind (100, 100, 110) counted 10% of its median apart.
    expect(ratios.noise).toBe(0.1);
  });

  it("ignores a second-kind load at either end or beside another", () => {
    expect(countedRatios([load(true, 200), load(false, 100), load(true, 300), load(true, 100)]).pairs).toBe(
      0,
    );
  });
});
