// Makes a platform-specific .vsix in dist/: a production build, then vsce with an ignore file
// that lets in only the target's onnxruntime binaries (all platforms together are ~290 MB) and
// the target's resvg binary (the report's PNG figures; npm installs only this machine's).
// Usage: node scripts/package.mjs [--target linux-x64]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const args = process.argv.slice(2);
const i = args.indexOf('--target');
const target = i >= 0 ? args[i + 1] : `${process.platform === 'win32' ? 'win32' : process.platform}-${process.arch}`;
const [platform, arch] = target.split('-');
const platforms = { linux: ['x64', 'arm64'], darwin: ['arm64'], win32: ['x64', 'arm64'] };
if (!platforms[platform]?.includes(arch)) {
  console.error(`package: onnxruntime-node has no binary for ${target}; targets: ${Object.entries(platforms).flatMap(([p, as]) => as.map((a) => `${p}-${a}`)).join(', ')}`);
  process.exit(2);
}

const run = (cmd, argv) => execFileSync(cmd, argv, { cwd: root, stdio: 'inherit' });
run(process.execPath, ['esbuild.mjs', '--production']);

mkdirSync(path.join(root, 'dist'), { recursive: true });
const ignoreFile = path.join(root, 'dist', `.vscodeignore-${target}`);
writeFileSync(
  ignoreFile,
  `${readFileSync(path.join(root, '.vscodeignore'), 'utf8')}\n# added for ${target}\n!node_modules/onnxruntime-node/bin/napi-v6/${platform}/${arch}/**\n!node_modules/@resvg/resvg-js-${platform}-${arch}${{ linux: '-gnu', win32: '-msvc', darwin: '' }[platform]}/**\n`,
);

const { name, version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const out = path.join('dist', `${name}-${version}-${target}.vsix`);
run(path.join(root, 'node_modules', '.bin', 'vsce'), [
  'package', '--target', target, '--ignoreFile', ignoreFile, '--out', out, '--allow-missing-repository', '--skip-license',
]);
console.log(`packaged ${out}`);
