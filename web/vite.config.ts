import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The control-center page: Preact (JSX through esbuild, no Babel) and uPlot, bundled into
 * dist/web, which the service serves itself (read-api/page-routes.ts). Nothing is loaded from a CDN.
 */
export default defineConfig({
  root: here("."),
  base: "/",
  logLevel: "warn",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: here("../dist/web"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    rollupOptions: {
      input: {
        index: here("index.html"),
        "control-center": here("control-center.html"),
        "sign-in": here("sign-in.html"),
      },
    },
  },
});
