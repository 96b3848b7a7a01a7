#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# install-agents.sh - installs the agent CLIs the end-to-end tests drive
# (npm packages, pinned) into DIR (default /var/cache/agp-ws-agents),
# unless they are there already. Prints the directory of their binaries.
set -eu
dir=${1:-/var/cache/agp-ws-agents}
codex=@openai/codex@0.171.0
mkdir -p "$dir"
if ! [ -x "$dir/node_modules/.bin/codex" ] ||
   ! "$dir/node_modules/.bin/codex" --version 2>/dev/null | grep -q 0.171.0; then
	command -v npm >/dev/null || { echo "install-agents: npm is missing" >&2; exit 1; }
	npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
		"$codex" >&2
fi
chmod -R a+rX "$dir"
echo "$dir/node_modules/.bin"
