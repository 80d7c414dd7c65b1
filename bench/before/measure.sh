#!/usr/bin/env bash
# Measures the quiet-queue figures (bench/quiet.ts) of the code before the lanes redesign and
# writes them to bench/data/quiet-before.json, which the report shows beside this code's own.
# `npm run bench` cannot rerun old code, so the figures are kept as data; rerun this to refresh them.
#
#   bash bench/before/measure.sh [COMMIT]      (default 2e5801a: main before issue 11)
#
# Checks COMMIT out in a temporary git worktree, installs it (npm ci), copies the measurement in
# (quiet.ts, waves.ts, before/quiet.ts: they only use what that code already had) and runs it
# there against its own in-process stack on DynamoDB Local. Capacity units and round trips do not
# depend on the machine's load, so a busy machine gives the same figures.
set -euo pipefail
ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
COMMIT=${1:-2e5801a}
DIR=$(mktemp -d)/before
git -C "$ROOT" worktree add --detach "$DIR" "$COMMIT" >/dev/null
trap 'git -C "$ROOT" worktree remove --force "$DIR"' EXIT
(cd "$DIR" && npm ci --no-audit --no-fund >/dev/null)
mkdir -p "$DIR/bench/before"
cp "$ROOT/bench/quiet.ts" "$ROOT/bench/waves.ts" "$DIR/bench/"
cp "$ROOT/bench/before/quiet.ts" "$DIR/bench/before/"
(cd "$DIR" && npx tsx bench/before/quiet.ts --out "$ROOT/bench/data/quiet-before.json" --label "$COMMIT (before the lanes redesign)")
