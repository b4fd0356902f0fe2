/**
 * The shape rules the README's map promises, checked from the sources instead of remembered:
 * which folder may import which (dependencies point down the flow; platform and the stores know
 * no domain), how long a production file and a function may grow. `npx tsx tools/architecture.ts`
 * prints every breach; `tools/architecture.unit.test.ts` fails on one.
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

/** Who each infrastructure folder may import besides itself: nothing of the domain. */
const INFRASTRUCTURE: Record<string, readonly string[]> = {
  platform: [],
  "event-store": ["platform"],
  "document-store": ["platform"],
};

/** Production sources: the layered folders, minus tests and what only tests use. */
const isTestSupport = (path: string): boolean =>
  /\.(unit|int|e2e)\.test\.ts$/.test(path) ||
  /(^|\/)(contract|contract-[\w-]+|given-when-then|projection-spec|api-spec|append-fixture)\.ts$/.test(
    path,
  ) ||
  path.includes("/contract/") ||
  path.includes("/contract-suite/") ||
  path.includes("/fixtures/");

const GENERATED = new Set<string>([]);

export interface Breach {
  readonly rule: "import" | "file-length" | "function-length";
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
  // Outside the layers (bench/, tools/, client/, web/): a production file must not depend on them.
  if (toIndex < 0) return false;
  return toIndex <= fromIndex;
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
  for (const specifier of layered ? importsOf(source) : []) {
    if (!specifier.startsWith(".")) continue;
    const target = relative(root, resolve(dirname(join(root, path)), specifier))
      .split(sep)
      .join("/");
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

export const checkTree = (root: string): Breach[] =>
  productionFiles(root).flatMap((path) => checkFile(root, path));

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.dirname, "architecture.ts")) {
  const root = resolve(import.meta.dirname, "..");
  const breaches = checkTree(root);
  for (const breach of breaches) console.log(`${breach.rule.padEnd(16)} ${breach.file}: ${breach.detail}`);
  console.log(`${productionFiles(root).length} production files, ${breaches.length} breaches`);
  process.exitCode = breaches.length > 0 ? 1 : 0;
}
