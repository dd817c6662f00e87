// Entry of the backend process. It will serve the JSON-RPC backend protocol over stdio (loop
// issue); today it answers --capabilities and --version.
import { readCapabilities } from './capabilities';

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
  process.stderr.write('usage: backend.js --capabilities | --version\n');
  return 2;
}

process.exitCode = main(process.argv.slice(2));
