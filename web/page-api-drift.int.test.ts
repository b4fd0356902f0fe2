import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

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

/** Every file but client/api.d.ts is parsed once for all the cases. */
const parsed = new Map<string, ts.SourceFile | undefined>();

/** The page's type errors with client/api.d.ts as `change` makes it. */
function pageErrors(change: (types: string) => string = (types) => types): string[] {
  const host = ts.createCompilerHost(config!.options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, onError) => {
    if (resolve(fileName) === CLIENT_TYPES) {
      const text = ts.sys.readFile(CLIENT_TYPES);
      if (text === undefined) throw new Error(`cannot read ${CLIENT_TYPES}`);
      return ts.createSourceFile(fileName, change(text), language);
    }
    if (!parsed.has(fileName)) parsed.set(fileName, getSourceFile(fileName, language, onError));
    return parsed.get(fileName);
  };
  const program = ts.createProgram({ rootNames: config!.fileNames, options: config!.options, host });
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
}

describe("the page against a renamed OpenAPI document", () => {
  it("compiles against the document as it is", () => {
    expect(pageErrors()).toEqual([]);
  });

  it.each(Object.entries(RENAMES))("does not compile once the document renames %s", (_what, rename) => {
    const errors = pageErrors((types) => renamed(types, rename));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.includes("/web/src/"))).toBe(true);
  });
});
