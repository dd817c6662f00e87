// Builds the bundles: extension host, backend process, CLI, the report writer (all Node,
// CommonJS) and the results webview (browser). `--production` minifies, `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { readFileSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

const common = {
  bundle: true,
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'info',
  define: { SELFDEV_VERSION: JSON.stringify(version) },
};
// Native and host-provided modules stay outside the bundles. jsonc-parser's default (UMD) build
// loads its parts with a require() a bundler cannot follow; its ES module build bundles whole.
// vega-canvas's Node build awaits an optional node-canvas at its top level, which CommonJS
// cannot hold; its browser build finds no canvas in Node and Vega then renders SVG without one.
const node = {
  ...common,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode', 'onnxruntime-node', '@resvg/resvg-js'],
  alias: { 'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js', 'vega-canvas': './node_modules/vega-canvas/build/vega-canvas.browser.js' },
};

const builds = [
  { ...node, entryPoints: { extension: 'src/extension.ts' }, outdir: 'out' },
  { ...node, entryPoints: { backend: 'src/backend/main.ts' }, outdir: 'out' },
  { ...node, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'out' },
  // Loaded on demand by the extension and the CLI (src/app/report/loadReport.ts).
  { ...node, entryPoints: { report: 'src/app/report/writeReport.ts' }, outdir: 'out' },
  {
    ...common,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    entryPoints: ['webview/src/main.ts', 'webview/src/main.css'],
    outdir: 'out/webview',
  },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
