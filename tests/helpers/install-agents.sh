#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# install-agents.sh - installs the agent CLIs the end-to-end tests drive
# (npm packages, pinned: the Codex CLI, and Bun for a Bun client) into DIR (default /var/cache/agp-ws-agents),
# unless they are there already. Prints the directory of their binaries.
set -eu
dir=${1:-/var/cache/agp-ws-agents}
mkdir -p "$dir"
# have NAME VERSION: the package's binary is there at that version.
have() {
	"$dir/node_modules/.bin/$1" --version 2>/dev/null | grep -q "$2"
}
if ! have codex 0.171.0 || ! have bun 1.2.23; then
	command -v npm >/dev/null || { echo "install-agents: npm is missing" >&2; exit 1; }
	# bun ships its binary in a registry package (@oven/bun-linux-*)
	npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
		@openai/codex@0.171.0 bun@1.2.23 >&2
fi
chmod -R a+rX "$dir"
echo "$dir/node_modules/.bin"
