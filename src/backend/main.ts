// Entry of the backend process: serves the JSON-RPC backend protocol over stdio (--stdio), or
// answers --capabilities and --version.
import { readCapabilities } from './capabilities';
import { serve } from './server';

declare const SELFDEV_VERSION: string; // injected by esbuild

function main(argv: string[]): number {
  if (argv.includes('--version')) {
    process.stdout.write(`${SELFDEV_VERSION}\n`);
    return 0;
  }
  if (argv.includes('--capabilities')) {
    process.stdout.write(JSON.stringify(readCapabilities(SELFDEV_VERSION)));
    return 0;
  }
  if (argv.includes('--stdio')) {
    // The working directory may change while sessions load (see engine/inference/session.ts);
    // everything the backend receives is an absolute path.
    // stdout carries the protocol: anything else printed goes to stderr.
    console.log = console.info = (...args: unknown[]) => console.error(...args);
    serve(process.stdin, process.stdout, SELFDEV_VERSION);
    return 0;
  }
  process.stderr.write('usage: backend.js --stdio | --capabilities | --version\n');
  return 2;
}

process.exitCode = main(process.argv.slice(2));
