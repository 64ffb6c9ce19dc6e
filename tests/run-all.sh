#!/usr/bin/env bash
# The whole test suite: unit and integration tests in release mode, then every state test in
# ../shared/fixtures/state_tests through each execution mode (tiered with a threshold of 1, so
# contracts move to native code as early as the background compiler allows).
set -euo pipefail
cd "$(dirname "$0")/.."

fixtures=${KILN_FIXTURES:-../shared/fixtures/state_tests}
if [ ! -d "$fixtures" ]; then
  echo "error: state-test fixtures not found at $fixtures (set KILN_FIXTURES)" >&2
  exit 2
fi

cargo build --release --locked --bins
cargo test --release --locked --workspace

echo "== state tests (interp) =="
./target/release/kiln statetest --mode interp --known-failures tests/known-failures.txt "$fixtures"

echo "== state tests (jit) =="
./target/release/kiln statetest --mode jit --known-failures tests/known-failures.txt "$fixtures"

echo "== state tests (aot: one shared object per fixture file) =="
./target/release/kiln statetest --mode aot --known-failures tests/known-failures.txt "$fixtures"

echo "== state tests (tiered, threshold 1) =="
./target/release/kiln statetest --mode tiered --tier-threshold 1 --stats --known-failures tests/known-failures.txt "$fixtures"

# A debug build runs Cranelift's IR verifier on every function it compiles, and every
# debug assertion (Cranelift's builder, the differential test's generator): the tests and
# the whole state-test suite once more, compiled that way.
echo "== tests (debug build) =="
cargo test --locked --workspace
echo "== state tests (jit, debug build: Cranelift's verifier on every function) =="
./target/debug/kiln statetest --mode jit --known-failures tests/known-failures.txt "$fixtures"
