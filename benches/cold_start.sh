#!/usr/bin/env bash
# Cold start and binary size of `hello_sdk` against `hello_plain` (benches/src/bin/).
#
# 1. Builds both as a user would: `cargo build --release` (the workspace's release profile),
#    `hello_plain` without the package's `sdk` feature, so that it has the dependencies (and
#    dependency features) of a plain lambda_http function and nothing else; then strips
#    copies of them into target/cold-start/ and prints their sizes.
# 2. Runs the `cold_start` bench against those stripped copies: each binary started as a
#    fresh process against the test kit's local Lambda Runtime API, timed from spawn to the
#    first response, COLD_START_RUNS times each (default 40), alternating.
#
# Extra arguments go to the cargo commands building `hello_sdk` and running the bench, e.g.
# `--no-default-features --features sdk` for `hello_sdk` without the OTLP/HTTP exporter.
#
#   benches/cold_start.sh
#   COLD_START_RUNS=100 benches/cold_start.sh
#   benches/cold_start.sh --no-default-features --features sdk
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
out="$target/cold-start"
mkdir -p "$out"

cargo build --release -p serverless_sdk_benches --bin hello_plain --no-default-features
cp "$target/release/hello_plain" "$out/hello_plain"
cargo build --release -p serverless_sdk_benches --bin hello_sdk "$@"
cp "$target/release/hello_sdk" "$out/hello_sdk"
strip "$out/hello_plain" "$out/hello_sdk"
plain=$(stat -c %s "$out/hello_plain")
sdk=$(stat -c %s "$out/hello_sdk")
echo "size (cargo build --release, stripped): hello_plain $((plain / 1024)) KB, hello_sdk $((sdk / 1024)) KB, difference +$(((sdk - plain) / 1024)) KB"

case "$out" in
    /*) dir="$out" ;;
    *) dir="$PWD/$out" ;;
esac
COLD_START_BIN_DIR="$dir" COLD_START_RUNS="${COLD_START_RUNS:-40}" \
    cargo bench -p serverless_sdk_benches --bench cold_start "$@"
