#!/usr/bin/env bash
# Runs the SDK conformance script against a freshly started simulator.
# Usage: tests/conformance/run.sh [path/to/antpath-sim]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sim="${1:-${CARGO_TARGET_DIR:-$here/../../target}/debug/antpath-sim}"
venv="${ANTPATH_VENV:-$HOME/.cache/antpath-venv}"

if [[ ! -x "$sim" ]]; then
  echo "run.sh: simulator binary not found at $sim (build it with cargo build -p antpath-sim-server)" >&2
  exit 2
fi
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import anthropic, sys; sys.exit(anthropic.__version__ != "2.10.0")' 2>/dev/null; then
  "$venv/bin/pip" install --quiet "anthropic==2.10.0"
fi

out="$(mktemp)"
"$sim" --listen 127.0.0.1:0 >"$out" &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; rm -f "$out"' EXIT

# Wait (bounded) for the first stdout line: "listening on http://ADDR".
for _ in $(seq 1 100); do
  [[ -s "$out" ]] && break
  if ! kill -0 "$sim_pid" 2>/dev/null; then
    echo "run.sh: simulator exited before listening" >&2
    exit 2
  fi
  sleep 0.1
done
line="$(head -n 1 "$out")"
base="${line#listening on }"
if [[ "$base" != http://* ]]; then
  echo "run.sh: unexpected first line: $line" >&2
  exit 2
fi

"$venv/bin/python" "$here/sdk_conformance.py" "$base"
