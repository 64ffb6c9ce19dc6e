#!/usr/bin/env bash
# The whole test suite: unit and integration tests in release mode, then every state test in
# ../shared/fixtures/state_tests through each execution mode (tiered with a threshold of 1 and
# optimizing code after one native execution, so contracts move to quick and then optimizing
# code as early as the background compiler allows), and through the JIT in each compiled tier.
set -euo pipefail
cd "$(dirname "$0")/.."

fixtures=${KILN_FIXTURES:-../shared/fixtures/state_tests}
if [ ! -d "$fixtures" ]; then
  echo "error: state-test fixtures not found at $fixtures (set KILN_FIXTURES)" >&2
  exit 2
fi
# State tests that once broke Kiln (filled by revm): every mode, always.
regressions=${KILN_REGRESSIONS:-../shared/fixtures/regressions}
if [ ! -d "$regressions" ]; then
  echo "error: regression fixtures not found at $regressions (set KILN_REGRESSIONS)" >&2
  exit 2
fi
# Blockchain tests (whole blocks).
blocks=${KILN_BLOCK_FIXTURES:-../shared/fixtures/blockchain_tests}
if [ ! -d "$blocks" ]; then
  echo "error: blockchain-test fixtures not found at $blocks (set KILN_BLOCK_FIXTURES)" >&2
  exit 2
fi
if ! command -v valgrind >/dev/null; then
  echo "error: valgrind not found: run tests/setup.sh first" >&2
  exit 2
fi

# Style is part of the build: formatting and every clippy lint, warnings as errors.
cargo fmt --all --check
cargo clippy --release --locked --all-targets -- -D warnings
# The API documentation builds without a broken or private link.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked --workspace

cargo build --release --locked --bins
cargo test --release --locked --workspace
# The library's examples build with the tests; they run too (each asserts what it prints).
for example in transact aot inspect; do
  cargo run --release --locked --example "$example"
done

echo "== regressions (interp, jit, aot, tiered with threshold 1) =="
for mode in interp jit aot; do
  ./target/release/kiln statetest --mode "$mode" "$regressions"
done
./target/release/kiln statetest --mode tiered --tier-threshold 1 --tier-optimize-after 1 --stats "$regressions"

# The quick tier alone (the JIT's default is the optimizing tier, run above and below). Its
# code carries the stack between blocks its own way (each block's inputs in variables, the
# slots below them through memory), so it gets its own checked-mode and valgrind runs too.
echo "== quick tier (jit, KILN_JIT_TIER=quick): regressions, state tests, differential test, checked mode, valgrind =="
KILN_JIT_TIER=quick ./target/release/kiln statetest --mode jit "$regressions"
KILN_JIT_TIER=quick ./target/release/kiln statetest --mode jit --known-failures tests/known-failures.txt "$fixtures"
KILN_JIT_TIER=quick KILN_DIFF_CASES=1000 cargo test --release --locked --test differential
KILN_JIT_TIER=quick KILN_CHECKED=1 ./target/release/kiln statetest --mode jit --known-failures tests/known-failures.txt "$fixtures"
KILN_JIT_TIER=quick valgrind -q --error-exitcode=99 ./target/release/kiln statetest --mode jit -j 1 "$regressions"

# Partial units, as the tier policy compiles them: the JIT compiles every contract as if no
# run had entered about three block starts in eight, which hand the frame to the interpreter,
# so the state tests cross from compiled code to the interpreter at thousands of places.
echo "== partial units (jit, KILN_JIT_PARTIAL=1): regressions, state tests, differential test, valgrind =="
KILN_JIT_PARTIAL=1 ./target/release/kiln statetest --mode jit "$regressions"
KILN_JIT_PARTIAL=1 ./target/release/kiln statetest --mode jit --known-failures tests/known-failures.txt "$fixtures"
KILN_JIT_PARTIAL=1 KILN_DIFF_CASES=1000 cargo test --release --locked --test differential
KILN_JIT_PARTIAL=1 valgrind -q --error-exitcode=99 ./target/release/kiln statetest --mode jit -j 1 "$regressions"

# Checked code generation: every native access to a stack slot, memory, the call data and
# the jump tables asserts its bounds at run time and halts with a named fatal error instead.
echo "== checked mode (jit): regressions, state tests, differential test =="
KILN_CHECKED=1 ./target/release/kiln statetest --mode jit "$regressions"
KILN_CHECKED=1 ./target/release/kiln statetest --mode jit --known-failures tests/known-failures.txt "$fixtures"
KILN_CHECKED=1 KILN_DIFF_CASES=1000 cargo test --release --locked --test differential

# Compiled code under valgrind: any invalid read or write (or use of uninitialised memory)
# fails the run.
echo "== valgrind (jit): regressions =="
valgrind -q --error-exitcode=99 ./target/release/kiln statetest --mode jit -j 1 "$regressions"

echo "== state tests (interp) =="
./target/release/kiln statetest --mode interp --known-failures tests/known-failures.txt "$fixtures"

echo "== state tests (jit) =="
./target/release/kiln statetest --mode jit --known-failures tests/known-failures.txt "$fixtures"

echo "== state tests (aot: one shared object per fixture file) =="
./target/release/kiln statetest --mode aot --known-failures tests/known-failures.txt "$fixtures"

echo "== state tests (tiered, threshold 1, optimizing after 1) =="
./target/release/kiln statetest --mode tiered --tier-threshold 1 --tier-optimize-after 1 --stats --known-failures tests/known-failures.txt "$fixtures"

echo "== blockchain tests (interp, jit, aot: one shared object per fixture file, tiered with threshold 1) =="
./target/release/kiln blocktest --mode interp "$blocks"
./target/release/kiln blocktest --mode jit "$blocks"
./target/release/kiln blocktest --mode aot "$blocks"
./target/release/kiln blocktest --mode tiered --tier-threshold 1 --tier-optimize-after 1 --stats "$blocks"

# A debug build runs Cranelift's IR verifier on every function it compiles, and every
# debug assertion (Cranelift's builder, the differential test's generator): the tests and
# the whole state-test suite once more, compiled that way.
echo "== tests (debug build) =="
cargo test --locked --workspace
echo "== state tests (jit, debug build: Cranelift's verifier on every function) =="
./target/debug/kiln statetest --mode jit --known-failures tests/known-failures.txt "$fixtures"
