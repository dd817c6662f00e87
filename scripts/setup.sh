#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (root, or sudo for the Debian packages) to build, run and
# test the extension: Debian packages, npm packages, Python packages, code-server, a build.
# Safe to re-run: each step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# bubblewrap + libseccomp2: the kernel sandbox of generated code (docs/SANDBOX.md); python3-seccomp:
# the official libseccomp bindings, the oracle of the runner's own binding in the tests; python3-numpy:
# the system interpreter runs the runner as an unprivileged user in the tests (user-namespace mode).
# openssh-client + openssh-server: the ssh transport of the remote backend, tested against a second
# sshd on loopback; openssl: the WebSocket transport's self-signed certificates in the tests;
# slurmctld + slurmd + slurm-client + munge: the Slurm launcher, tested on a single-node cluster
# that the tests start in a temp folder (nothing is started at install).
# fonts-dejavu-core: the font the report's PNG figures are drawn with (resvg reads system fonts).
DEBIAN_PACKAGES=(fonts-dejavu-core build-essential pkg-config libkrb5-dev libxkbfile-dev libsecret-1-dev ripgrep chromium git bubblewrap libseccomp2 python3-seccomp python3-numpy openssh-client openssh-server openssl slurmctld slurmd slurm-client munge)
PYTHON="${SELFDEV_PYTHON:-python3}"

step() { printf '\n== %s\n' "$*"; }

step "Debian packages"
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "all present"
fi

step "npm packages"
# onnxruntime-node's install script would download CUDA libraries from NuGet; its CPU
# execution provider ships inside the npm package, so skip that download.
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error

step "Python packages ($PYTHON)"
for req in resources/python/requirements.txt test/python/requirements*.txt; do
  [ -f "$req" ] || continue
  "$PYTHON" -m pip install --disable-pip-version-check -q -r "$req"
done

# mergekit is a test oracle only; every release pins transformers/numpy versions that conflict
# with the pinned ones, and the functions the tests call need none of them (see
# test/python/requirements-runner.txt).
"$PYTHON" -m pip install --disable-pip-version-check -q --no-deps mergekit==0.1.5

step "LLM environment (.venv-llm: TRL + PEFT for the LLM factory's DPO, transformers serve for its tests)"
# Its own environment: it needs a newer transformers than the one the tests and the demo's
# training pin; --system-site-packages reuses their torch (resources/python/requirements-llm.txt).
[ -x .venv-llm/bin/python ] || "$PYTHON" -m venv --system-site-packages .venv-llm
.venv-llm/bin/python -m pip install --disable-pip-version-check -q -r resources/python/requirements-llm.txt

step "code-server (a real VS Code for the integration and e2e tests)"
bash scripts/install-code-server.sh

step "build"
node esbuild.mjs >/dev/null
echo "built out/"
