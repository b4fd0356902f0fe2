/**
 * The shape rules the README's map promises, checked from the sources instead of remembered:
 * which folder may import which (dependencies point down the flow; platform and the stores know
 * no domain; the tools, tests' support, client and benches sit above them), that no file of the
 * project is part of an import cycle (type-only imports included), how long a production file and a
 * function may grow. `npx tsx tools/architecture.ts` prints every breach;
 * `tools/architecture.unit.test.ts` fails on one.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

export const MAX_FILE_LINES = 500;
export const MAX_FUNCTION_LINES = 80;

/**
 * The flow, first to last: a folder may import its own files and those of folders before it,
 * never one after it. The infrastructure (platform and the two stores) comes before the domain
 * and imports nothing of it: the stores only platform, platform only itself.
 */
export const LAYERS = [
  "platform",
  "event-store",
  "document-store",
  "schemas",
  "write-side",
  "projections",
  "read-api",
  "app",
] as const;

/**
 * Above the flow, in order: what builds, tests, calls or measures the service. Each may import the
 * layers and the folders before it here (tests' support uses the build tool; the client's tests
 * and the deployment's the tests' support; the benches all), never one after; no layer imports them.
 */
export const OUTER = ["tools", "test-support", "client", "deploy", "bench"] as const;

/** Who each infrastructure folder may import besides itself: nothing of the domain. */
const INFRASTRUCTURE: Record<string, readonly string[]> = {
  platform: [],
  "event-store": ["platform"],
  "document-store": ["platform"],
};

/** Production sources: the layered folders, minus tests and what only tests use. */
const isTestSupport = (path: string): boolean =>
  /\.(unit|int|e2e)\.test\.ts$/.test(path) ||
  /(^|\/)(contract|contract-[\w-]+|projection-spec|api-spec|append-fixture)\.ts$/.test(path) ||
  path.includes("/contract/") ||
  path.includes("/contract-suite/") ||
  path.includes("/fixtures/");

const GENERATED = new Set<string>([]);

export interface Breach {
  readonly rule: "import" | "cycle" | "file-length" | "function-length";
  readonly file: string;
  readonly detail: string;
}

const walk = (dir: string): string[] =>
  !existsSync(dir)
    ? []
    : readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) return entry.name === "node_modules" ? [] : walk(path);
        return /\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [path] : [];
      });

/** Outside the layers but shipped too: the control-center page's sources (sizes only). */
const UNLAYERED = ["web/src"];

export const productionFiles = (root: string): string[] =>
  [...LAYERS, ...UNLAYERED]
    .flatMap((folder) => walk(join(root, folder)))
    .map((path) => relative(root, path).split(sep).join("/"))
    .filter((path) => !isTestSupport(path) && !GENERATED.has(path))
    .sort();

const layerOf = (path: string): string => path.split("/")[0] ?? "";

const ORDER: readonly string[] = [...LAYERS, ...OUTER];

/** Every file of the layers and the folders above them, tests included, for the upward-import and cycle checks. */
const allFiles = (root: string): string[] =>
  ORDER.flatMap((folder) => walk(join(root, folder)))
    .map((path) => relative(root, path).split(sep).join("/"))
    .filter((path) => !path.startsWith("bench/peers/"))
    .sort();

const importsOf = (source: ts.SourceFile): string[] => {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
};

/** May a file in `from` import one in `to`? */
export const mayImport = (from: string, to: string): boolean => {
  if (from === to) return true;
  const allowed = INFRASTRUCTURE[from];
  if (allowed) return allowed.includes(to);
  const fromIndex = LAYERS.indexOf(from as (typeof LAYERS)[number]);
  const toIndex = LAYERS.indexOf(to as (typeof LAYERS)[number]);
  const outerFrom = ORDER.indexOf(from);
  // A layer imports nothing above the flow; a folder above it imports the layers and what precedes it.
  if (fromIndex >= 0) return toIndex >= 0 && toIndex <= fromIndex;
  const outerTo = ORDER.indexOf(to);
  return outerFrom >= 0 && outerTo >= 0 && outerTo <= outerFrom;
};

const functionName = (node: ts.Node, source: ts.SourceFile): string => {
  const named = node as { name?: ts.Node };
  if (named.name) return named.name.getText(source);
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(source);
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return "constructor";
  return "(anonymous)";
};

const isFunctionLike = (node: ts.Node): boolean =>
  ts.isFunctionDeclaration(node) ||
  ts.isMethodDeclaration(node) ||
  ts.isArrowFunction(node) ||
  ts.isFunctionExpression(node) ||
  ts.isConstructorDeclaration(node) ||
  ts.isGetAccessorDeclaration(node) ||
  ts.isSetAccessorDeclaration(node);

/** The project files `path` imports by a relative specifier (`./x.js` is `./x.ts` on disk). */
function localImports(root: string, path: string, source: ts.SourceFile): string[] {
  return importsOf(source)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) =>
      relative(root, resolve(dirname(join(root, path)), specifier.replace(/\.js$/, ".ts")))
        .split(sep)
        .join("/"),
    );
}

const parse = (root: string, path: string): ts.SourceFile =>
  ts.createSourceFile(path, readFileSync(join(root, path), "utf8"), ts.ScriptTarget.Latest, true);

/** A breach for each import of a file above the flow that points to a folder after its own. */
function upwardImports(path: string, targets: readonly string[]): Breach[] {
  const from = layerOf(path);
  return targets
    .filter((target) => !mayImport(from, layerOf(target)))
    .map((target) => ({
      rule: "import",
      file: path,
      detail: `imports ${target} (${from} → ${layerOf(target)})`,
    }));
}

/**
 * The import cycles among `graph`'s files (Tarjan's strongly connected components): each set of
 * files that reach one another through imports, a file importing itself included.
 */
export function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file) as number);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        connect(next);
        low.set(file, Math.min(low.get(file) as number, low.get(next) as number));
      } else if (onStack.has(next))
        low.set(file, Math.min(low.get(file) as number, index.get(next) as number));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || graph.get(file)?.includes(file)) cycles.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) connect(file);
  return cycles;
}

export const checkFile = (root: string, path: string): Breach[] => {
  const text = readFileSync(join(root, path), "utf8");
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const breaches: Breach[] = [];
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  if (lines > MAX_FILE_LINES) {
    breaches.push({ rule: "file-length", file: path, detail: `${lines} lines (at most ${MAX_FILE_LINES})` });
  }
  const from = layerOf(path);
  const layered = LAYERS.includes(from as (typeof LAYERS)[number]);
  for (const target of layered ? localImports(root, path, source) : []) {
    const to = layerOf(target);
    if (!mayImport(from, to))
      breaches.push({ rule: "import", file: path, detail: `imports ${target} (${from} → ${to})` });
  }
  const visit = (node: ts.Node): void => {
    if (isFunctionLike(node)) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const length = end - start + 1;
      if (length > MAX_FUNCTION_LINES) {
        breaches.push({
          rule: "function-length",
          file: path,
          detail: `${functionName(node, source)} at line ${start + 1}: ${length} lines (at most ${MAX_FUNCTION_LINES})`,
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return breaches;
};

export function checkTree(root: string): Breach[] {
  const graph = new Map(allFiles(root).map((path) => [path, localImports(root, path, parse(root, path))]));
  const outer = [...graph].filter(([path]) => OUTER.includes(layerOf(path) as (typeof OUTER)[number]));
  return [
    ...productionFiles(root).flatMap((path) => checkFile(root, path)),
    ...outer.flatMap(([path, targets]) => upwardImports(path, targets)),
    ...cyclesOf(graph).map(
      (cycle): Breach => ({
        rule: "cycle",
        file: cycle[0] as string,
        detail: `import cycle: ${cycle.join(" → ")}`,
      }),
    ),
  ];
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.dirname, "architecture.ts")) {
  const root = resolve(import.meta.dirname, "..");
  const breaches = checkTree(root);
  for (const breach of breaches) console.log(`${breach.rule.padEnd(16)} ${breach.file}: ${breach.detail}`);
  console.log(`${productionFiles(root).length} production files, ${breaches.length} breaches`);
  process.exitCode = breaches.length > 0 ? 1 : 0;
}
