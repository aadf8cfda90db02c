#!/usr/bin/env bash
# Builds the Toxiproxy server (the TCP fault proxy the game day and its CI subset drive) from its
# Go module with the machine's Go toolchain, pinned to one version, into .cache/toxiproxy/.
# Idempotent: prints the binary's path, building it only when it is missing.
set -euo pipefail
VERSION="v2.12.0"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN_DIR="$ROOT/.cache/toxiproxy/$VERSION"
BIN="$BIN_DIR/toxiproxy-server"
if [[ ! -x "$BIN" ]]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "toxiproxy: the Go toolchain is needed to build the Toxiproxy server (go not on PATH)" >&2
    exit 2
  fi
  mkdir -p "$BIN_DIR"
  # Build into a scratch GOBIN, then move into place, so a build cut short never leaves a
  # half-written binary that the check above would take for a good one.
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  GOBIN="$TMP" GOFLAGS=-mod=mod go install "github.com/Shopify/toxiproxy/v2/cmd/server@$VERSION" >&2
  mv "$TMP/server" "$BIN"
fi
echo "$BIN"
