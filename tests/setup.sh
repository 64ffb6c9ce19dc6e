#!/usr/bin/env bash
# Installs what the build and the test suite need beyond the Rust toolchain, from Debian's
# packages: a C compiler (the BLS and KZG precompile libraries, linking AOT libraries), perl
# (keccak-asm generates its assembly with it) and valgrind (the test suite runs compiled code
# under it).
set -euo pipefail
need=()
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v perl >/dev/null || need+=(perl)
command -v valgrind >/dev/null || need+=(valgrind)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
