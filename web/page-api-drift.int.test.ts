import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * The document cannot drift from what the page calls: the page is type-checked (as
 * `tsc -p web/tsconfig.json` does) against copies of the generated client/api.d.ts with one name
 * changed, as if the OpenAPI document had renamed it, and each must fail to compile. One case per
 * kind of name the page depends on: a path, a path parameter, a query parameter, a body field, an
 * answer's field. A case whose text is no longer in client/api.d.ts fails too (it would prove
 * nothing), so regenerating the client cannot quietly empty this test.
 */

const WEB_TSCONFIG = fileURLToPath(new URL("./tsconfig.json", import.meta.url));
const CLIENT_TYPES = fileURLToPath(new URL("../client/api.d.ts", import.meta.url));

interface Rename {
  /** Where in client/api.d.ts: the first `from` after this line is renamed. */
  readonly after: string;
  readonly from: string;
  readonly to: string;
}

const RENAMES: Record<string, Rename> = {
  "the path the reservations are listed at": {
    after: "export interface paths {",
    from: '    "/reservations": {',
    to: '    "/bookings": {',
  },
  "the path of the live updates (an EventSource, not a fetch)": {
    after: "export interface paths {",
    from: '    "/control-center/events": {',
    to: '    "/control-center/stream": {',
  },
  "the path of the sign-out form": {
    after: "export interface paths {",
    from: '    "/sign-out": {',
    to: '    "/logout": {',
  },
  "a path parameter of the cancellation": {
    after: "    cancelReservation: {",
    from: "                reservationId: string;",
    to: "                bookingId: string;",
  },
  "the plate query parameter of the reservations": {
    after: "    listReservations: {",
    from: "carNumber?: string;",
    to: "plate?: string;",
  },
  "the cursor query parameter of the lots": {
    after: "    listParkingLots: {",
    from: "cursor?: string;",
    to: "after?: string;",
  },
  "the reason of an operator's cancellation (a body field the operator's schema requires)": {
    after: "        OperatorCancelReservationBody: {",
    from: "reason: string;",
    to: "why: string;",
  },
  "the lot id of a registration (an optional body field)": {
    after: "        RegisterParkingLotBody: {",
    from: "parkingLotId?: string;",
    to: "id?: string;",
  },
  "a lot's free now": {
    after: "        ParkingLotDetail: {",
    from: "freeNow: number;",
    to: "spotsFreeNow: number;",
  },
  "the next cursor of a page of reservations": {
    after: "        ReservationPage: {",
    from: "nextCursor: string | null;",
    to: "next: string | null;",
  },
  "the issuer of the sign-in configuration": {
    after: "        SignInConfig: {",
    from: "issuer: string;",
    to: "authority: string;",
  },
  "a problem's title": { after: "        Problem: {", from: "title: string;", to: "heading: string;" },
};

function renamed(types: string, { after, from, to }: Rename): string {
  const start = types.indexOf(after);
  const at = start < 0 ? -1 : types.indexOf(from, start);
  if (at < 0)
    throw new Error(`client/api.d.ts no longer has ${JSON.stringify(from)} after ${JSON.stringify(after)}`);
  return types.slice(0, at) + to + types.slice(at + from.length);
}

const config = ts.getParsedCommandLineOfConfigFile(WEB_TSCONFIG, undefined, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  },
});
if (!config) throw new Error(`cannot read ${WEB_TSCONFIG}`);

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const CASES = Object.entries(RENAMES);

/**
 * Every case in one program, so that the standard library and the page's packages are bound and
 * checked once rather than once per case: case i is a copy of the page and of client/api.d.ts
 * (with its name renamed) under a directory that exists only in this compiler host,
 * ROOT/.page-api-drift-i/, whose imports of packages resolve to the one ROOT/node_modules. The
 * page as it is stays where it is (case "as it is"). A page file without imports or exports is a
 * script whose declarations are global: it is checked once, in the page as it is (it uses no
 * name of the document).
 */
const caseRoot = (i: number) => join(ROOT, `.page-api-drift-${i}`);
const inCase = (fileName: string): { readonly index: number; readonly real: string } | undefined => {
  const match = /[\\/]\.page-api-drift-(\d+)([\\/].*)?$/.exec(resolve(fileName));
  if (!match || resolve(fileName).slice(0, ROOT.length) !== ROOT) return undefined;
  return { index: Number(match[1]), real: join(ROOT, match[2] ?? "") };
};
const copied = (real: string) => real === CLIENT_TYPES || real.startsWith(join(ROOT, "web") + sep);

/** Each case's type errors (or why it could not be built), and the page's as it is. */
function allPageErrors(): { asItIs: string[]; cases: Array<string[] | Error> } {
  const changed = CASES.map(([, rename]): string | Error => {
    try {
      return renamed(ts.sys.readFile(CLIENT_TYPES) ?? "", rename);
    } catch (error) {
      return error as Error;
    }
  });
  const host = ts.createCompilerHost(config!.options);
  const { getSourceFile, fileExists, readFile, directoryExists } = host;
  const real = (fileName: string) => {
    const found = inCase(fileName);
    return found && copied(found.real) ? found.real : undefined;
  };
  host.fileExists = (f) => {
    const r = real(f);
    return r ? fileExists.call(host, r) : inCase(f) ? false : fileExists.call(host, f);
  };
  host.directoryExists = (d) => {
    const r = inCase(d);
    if (!r) return directoryExists?.call(host, d) ?? true;
    return r.real === ROOT ||
      copied(r.real) ||
      r.real === join(ROOT, "client") ||
      r.real === join(ROOT, "web")
      ? (directoryExists?.call(host, r.real) ?? true)
      : false;
  };
  host.readFile = (f) => {
    const found = inCase(f);
    if (found && found.real === CLIENT_TYPES) {
      const text = changed[found.index];
      return typeof text === "string" ? text : undefined;
    }
    const r = real(f);
    return r ? readFile.call(host, r) : inCase(f) ? undefined : readFile.call(host, f);
  };
  host.realpath = (p) => p;
  host.getSourceFile = (fileName, language, onError) => {
    const found = inCase(fileName);
    if (!found) return getSourceFile.call(host, fileName, language, onError);
    const text = host.readFile(fileName);
    return text === undefined ? undefined : ts.createSourceFile(fileName, text, language);
  };
  const modules = config!.fileNames.filter((f) => /^(import|export) /m.test(ts.sys.readFile(f) ?? ""));
  const rootNames = [...config!.fileNames];
  changed.forEach((text, i) => {
    if (typeof text === "string") rootNames.push(...modules.map((f) => join(caseRoot(i), relative(ROOT, f))));
  });
  const program = ts.createProgram({ rootNames, options: config!.options, host });
  const asItIs: string[] = [];
  const cases: Array<string[] | Error> = changed.map((text) => (typeof text === "string" ? [] : text));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const line = `${d.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
    const found = d.file ? inCase(d.file.fileName) : undefined;
    if (found) (cases[found.index] as string[]).push(line);
    else {
      asItIs.push(line);
      // Not in a copy: a global diagnostic (no file) or one of the shared files, every case's.
      for (const c of cases) if (Array.isArray(c)) c.push(line);
    }
  }
  return { asItIs, cases };
}

describe("the page against a renamed OpenAPI document", () => {
  let errors: ReturnType<typeof allPageErrors>;
  // All cases at once: about 70% of the CPU the thirteen programs took, in one piece, so it gets
  // the time the thirteen tests had between them (10 minutes) on a machine busy with other files.
  beforeAll(() => {
    errors = allPageErrors();
  }, 600_000);

  it("compiles against the document as it is", () => {
    expect(errors.asItIs).toEqual([]);
  });

  it.each(CASES.map(([what], i) => [what, i] as const))(
    "does not compile once the document renames %s",
    (_what, i) => {
      const found = errors.cases[i];
      if (found instanceof Error) throw found;
      expect(found?.length).toBeGreaterThan(0);
      expect(found?.every((e) => e.includes("/web/src/"))).toBe(true);
    },
  );
});
