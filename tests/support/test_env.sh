#!/bin/sh
# Runs a test program with the environment every Vigil test may read:
# VIGIL_SOURCE_DIR, VIGIL_BINARY_DIR and VIGIL_SHARED_DATA (reference data;
# a value already in the environment wins, so `VIGIL_SHARED_DATA=/x ctest`
# works). Used as the tests' launcher (CROSSCOMPILING_EMULATOR), because
# gtest_discover_tests cannot pass several ENVIRONMENT entries in CMake 3.25.
VIGIL_SOURCE_DIR=$1
VIGIL_BINARY_DIR=$2
: "${VIGIL_SHARED_DATA:=$3}"
export VIGIL_SOURCE_DIR VIGIL_BINARY_DIR VIGIL_SHARED_DATA
shift 3
exec "$@"
