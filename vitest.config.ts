import { defineConfig } from "vitest/config";

// .ci/run runs the PostgreSQL suites once, on one Node line (the driver is plain JavaScript and the
// server Debian's: neither depends on the line), and sets this on the others.
const ONCE_PER_RUN = process.env.CI_OTHER_NODE_LINE ? ["**/postgres/**", "app/postgres-*"] : [];

// Tiers by file name: *.unit.test.ts (pure, fast), *.int.test.ts (real stores on disk),
// *.e2e.test.ts (real HTTP servers and real child processes).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["**/*.unit.test.ts"],
          exclude: ["node_modules/**", "dist/**"],
          // Property suites run thousands of cases: on a busy 2-core machine they need more than 5 s.
          testTimeout: 30_000,
          // Pure files share their workers' loaded modules: importing them again for each file was
          // a third of this tier's time.
          isolate: false,
        },
      },
      {
        test: {
          name: "int",
          include: ["**/*.int.test.ts"],
          exclude: ["node_modules/**", "dist/**", ...ONCE_PER_RUN],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Some start the service as a process: from dist/, built once per run if stale.
          globalSetup: ["test-support/server-build.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["**/*.e2e.test.ts"],
          exclude: ["node_modules/**", "dist/**"],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          // One worker runs the files in turn and keeps the modules it loaded (the service's graph,
          // the OpenAPI document the contract check compiles): 3-5 s a file when each started afresh.
          // Every file stops what it starts (services, children: test-support/children.ts).
          isolate: false,
          // The service's processes start from dist/, built once per run if stale.
          globalSetup: ["test-support/server-build.ts"],
          // Every response the e2e suites receive is checked against the OpenAPI document.
          setupFiles: ["test-support/contract-setup.ts"],
        },
      },
    ],
  },
});
