import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * `npm test`'s `pretest`: the suite needs four Debian packages besides Node and npm: `chromium`
 * (the control-center page tests drive it through playwright-core, which downloads no browser),
 * `fonts-noto-cjk` (Korean lot names in the page's screenshots) and `haproxy` (the gateway's
 * rolling-restart test), `postgresql` (the PostgreSQL adapters' tests start a server of their own). What is missing is installed here when it can be (root with apt-get, as
 * .ci/run does); otherwise this stops at once and prints the one command that installs it, rather
 * than letting those tests fail minutes later.
 *
 * `npx tsx tools/system-deps.ts --check` only reports (exit 1 when something is missing).
 */

interface Requirement {
  readonly pkg: string;
  readonly why: string;
  readonly present: () => boolean;
}

const onPath = (command: string): boolean =>
  spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;

/** Whether Debian's package manager records `pkg` as installed (undefined without dpkg). */
function dpkgInstalled(pkg: string): boolean | undefined {
  if (!onPath("dpkg-query")) return undefined;
  const query = spawnSync("dpkg-query", ["-W", `-f=\${Status}`, pkg], { encoding: "utf8" });
  return query.status === 0 && query.stdout.includes("install ok installed");
}

function hasCjkFont(): boolean {
  const dpkg = dpkgInstalled("fonts-noto-cjk");
  if (dpkg) return true;
  if (!onPath("fc-list")) return dpkg ?? false;
  const fonts = spawnSync("fc-list", [], { encoding: "utf8" });
  return /Noto Sans CJK/i.test(fonts.stdout ?? "");
}

const REQUIREMENTS: readonly Requirement[] = [
  {
    pkg: "chromium",
    why: "the control-center page tests",
    present: () => existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium") || onPath("chromium"),
  },
  { pkg: "fonts-noto-cjk", why: "Korean text in the page tests", present: hasCjkFont },
  {
    pkg: "haproxy",
    why: "the gateway's rolling-restart test",
    present: () => existsSync("/usr/sbin/haproxy"),
  },
  {
    pkg: "postgresql",
    why: "the PostgreSQL adapters' contract suites and replicas (a server the tests start on loopback)",
    present: () => existsSync("/usr/lib/postgresql") || onPath("pg_ctl"),
  },
];

const installCommand = (packages: readonly string[], asRoot: boolean): string =>
  `${asRoot ? "" : "sudo "}apt-get update && ${asRoot ? "" : "sudo "}apt-get install -y --no-install-recommends ${packages.join(" ")}`;

function main(): number {
  const checkOnly = process.argv.includes("--check");
  const missing = REQUIREMENTS.filter((r) => !r.present());
  if (missing.length === 0) return 0;
  const packages = missing.map((r) => r.pkg);
  const isRoot = process.getuid?.() === 0;
  const list = missing.map((r) => `  ${r.pkg} (${r.why})`).join("\n");
  if (checkOnly || !isRoot || !onPath("apt-get")) {
    process.stderr.write(
      `npm test needs these system packages, which are missing:\n${list}\n\nInstall them with:\n\n  ${installCommand(packages, isRoot)}\n\n${onPath("apt-get") ? "" : "(That is Debian's or Ubuntu's command; elsewhere install the same packages with your package manager, or set CHROMIUM_PATH to a Chromium.)\n"}`,
    );
    return 1;
  }
  process.stderr.write(`Installing the system packages npm test needs:\n${list}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", "--no-install-recommends", ...packages],
  ]) {
    const step = spawnSync("apt-get", args, { stdio: "inherit", env });
    if (step.status !== 0) {
      process.stderr.write(
        `\napt-get ${args[0]} failed (exit ${step.status}); run it yourself:\n\n  ${installCommand(packages, true)}\n`,
      );
      return 1;
    }
  }
  const still = REQUIREMENTS.filter((r) => !r.present()).map((r) => r.pkg);
  if (still.length) {
    process.stderr.write(`Still missing after apt-get: ${still.join(", ")}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
