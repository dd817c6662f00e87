#!/usr/bin/env bash
# Installs code-server (a real VS Code 1.100.3 that runs on Node 20) into .cache/code-server,
# outside the extension's node_modules so it never ends up in the packaged extension.
# code-server 4.100.3 is the last release whose engines.node accepts Node 20.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="${CODE_SERVER_VERSION:-4.100.3}"
prefix="$root/.cache/code-server"
bin="$prefix/node_modules/.bin/code-server"

if [ -x "$bin" ] && [ "$(cat "$prefix/.installed" 2>/dev/null)" = "$version" ]; then
  echo "code-server $version already installed in $prefix"
  exit 0
fi

command -v rg >/dev/null || { echo "ripgrep (rg) is required: apt-get install ripgrep" >&2; exit 1; }

# @vscode/ripgrep downloads rg from GitHub unless its cache already holds the tarball;
# build that tarball from Debian's rg so the install needs no download.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cache="$tmp/vscode-ripgrep-cache-1.15.11"
mkdir -p "$cache" "$tmp/rg"
cp "$(command -v rg)" "$tmp/rg/rg"
tar -C "$tmp/rg" -czf "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" rg

mkdir -p "$prefix"
[ -f "$prefix/package.json" ] || echo '{"name":"selfdev-code-server","private":true}' > "$prefix/package.json"
echo "installing code-server $version into $prefix (about 2 minutes)"
# unsafe_perm: its postinstall refuses to run as root otherwise; yes: node-pty calls npx node-gyp.
TMPDIR="$tmp" npm_config_unsafe_perm=true npm_config_yes=true \
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "code-server@$version"
"$bin" --version >/dev/null
echo "$version" > "$prefix/.installed"
echo "code-server $version installed"
