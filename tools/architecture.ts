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

/**
 * Production sources: the layered folders minus their tests. What only tests use lives in
 * test-support/ (the store contract suites, child-process fixtures), not beside production code.
 */
const isTest = (path: string): boolean => /\.(unit|int|e2e)\.test\.ts$/.test(path);

const GENERATED = new Set<string>([]);

export interface Breach {
  readonly rule: "import" | "cycle" | "file-length" | "function-length" | "test-only-export";
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

const walkRelative = (root: string, folder: string): string[] =>
  walk(join(root, folder)).map((path) => relative(root, path).split(sep).join("/"));

export const productionFiles = (root: string): string[] =>
  [...LAYERS, ...UNLAYERED]
    .flatMap((folder) => walk(join(root, folder)))
    .map((path) => relative(root, path).split(sep).join("/"))
    .filter((path) => !isTest(path) && !GENERATED.has(path))
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

/** The names a file exports by its own declarations and export lists (`export *` and defaults aside). */
function exportedNames(source: ts.SourceFile): string[] {
  const names: string[] = [];
  for (const statement of source.statements) {
    if (
      ts.isExportDeclaration(statement) &&
      statement.exportClause &&
      ts.isNamedExports(statement.exportClause)
    ) {
      names.push(...statement.exportClause.elements.map((element) => element.name.text));
      continue;
    }
    const modifiers = ts.canHaveModifiers(statement) ? ts.getModifiers(statement) : undefined;
    if (!modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    if (modifiers.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)) continue;
    if (ts.isVariableStatement(statement))
      for (const declaration of statement.declarationList.declarations)
        if (ts.isIdentifier(declaration.name)) names.push(declaration.name.text);
    const name = (statement as { name?: ts.Node }).name;
    if (name && ts.isIdentifier(name)) names.push(name.text);
  }
  return names;
}

/** What `path` takes of each project file it imports or re-exports from: names, or "*" for all of it. */
function importedNames(root: string, path: string, source: ts.SourceFile): Map<string, Set<string>> {
  const taken = new Map<string, Set<string>>();
  const take = (specifier: string, names: readonly string[]): void => {
    if (!specifier.startsWith(".")) return;
    const target = relative(root, resolve(dirname(join(root, path)), specifier.replace(/\.js$/, ".ts")))
      .split(sep)
      .join("/");
    const set = taken.get(target) ?? new Set<string>();
    for (const name of names) set.add(name);
    taken.set(target, set);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const names = [
        ...(clause?.name ? ["default"] : []),
        ...(bindings && ts.isNamespaceImport(bindings) ? ["*"] : []),
        ...(bindings && ts.isNamedImports(bindings)
          ? bindings.elements.map((e) => (e.propertyName ?? e.name).text)
          : []),
      ];
      take(node.moduleSpecifier.text, names);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const clause = node.exportClause;
      const names =
        clause && ts.isNamedExports(clause)
          ? clause.elements.map((e) => (e.propertyName ?? e.name).text)
          : ["*"];
      take(node.moduleSpecifier.text, names);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      take(node.arguments[0].text, ["*"]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return taken;
}

/** How often each identifier occurs in a file (a declaration's name included). */
function identifierCounts(source: ts.SourceFile): Map<string, number> {
  const counts = new Map<string, number>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) counts.set(node.text, (counts.get(node.text) ?? 0) + 1);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return counts;
}

/** Is `path` a test, or what only tests and benches use (their support, a spec harness, the benches)? */
const onlyForTests = (path: string): boolean =>
  isTest(path) || /-spec\.ts$/.test(path) || path.startsWith("test-support/") || path.startsWith("bench/");

/**
 * A breach for each export of a production file that tests or benches import and no other file
 * does (nor the file itself): test-only code belongs beside the tests or in test-support/, not in a production folder.
 */
function testOnlyExports(root: string, sources: ReadonlyMap<string, ts.SourceFile>): Breach[] {
  const importers = new Map<string, Map<string, string[]>>();
  for (const [path, source] of sources)
    for (const [target, names] of importedNames(root, path, source)) {
      const byName = importers.get(target) ?? new Map<string, string[]>();
      for (const name of names) byName.set(name, [...(byName.get(name) ?? []), path]);
      importers.set(target, byName);
    }
  const breaches: Breach[] = [];
  for (const path of productionFiles(root)) {
    const byName = importers.get(path);
    const source = sources.get(path);
    if (!byName || !source || byName.has("*")) continue;
    const uses = identifierCounts(source);
    for (const name of exportedNames(source)) {
      const users = byName.get(name) ?? [];
      // Used in its own file besides its declaration: production code that tests also call.
      if ((uses.get(name) ?? 0) > 1) continue;
      if (users.length > 0 && users.every(onlyForTests))
        breaches.push({
          rule: "test-only-export",
          file: path,
          detail: `exports ${name}, imported only by tests or benches (${users.join(", ")}): move it beside them or to test-support/`,
        });
    }
  }
  return breaches;
}

export function checkTree(root: string): Breach[] {
  const sources = new Map(
    [...allFiles(root), ...UNLAYERED.flatMap((folder) => walkRelative(root, folder))].map((path) => [
      path,
      parse(root, path),
    ]),
  );
  const graph = new Map(
    [...sources]
      .filter(([path]) => ORDER.includes(layerOf(path)))
      .map(([path, source]) => [path, localImports(root, path, source)]),
  );
  const outer = [...graph].filter(([path]) => OUTER.includes(layerOf(path) as (typeof OUTER)[number]));
  return [
    ...productionFiles(root).flatMap((path) => checkFile(root, path)),
    ...outer.flatMap(([path, targets]) => upwardImports(path, targets)),
    ...testOnlyExports(root, sources),
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
