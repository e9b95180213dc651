# Helpers that give every Vigil target the same standard, warnings, include
# root and sanitizer flags. One library per folder, named after the folder.

set(VIGIL_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough)
if(VIGIL_WERROR)
  list(APPEND VIGIL_WARNINGS -Werror)
endif()

set(VIGIL_SANITIZER_FLAGS)
# A fuzz build always sanitizes everything it links: a fuzzer that finds a
# heap overflow only in its own harness would miss the libraries under test.
if(VIGIL_SANITIZE OR VIGIL_FUZZ)
  set(VIGIL_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
      -fno-sanitize-recover=undefined)
endif()

function(_vigil_common target)
  target_compile_options(${target} PRIVATE ${VIGIL_WARNINGS} ${VIGIL_SANITIZER_FLAGS})
  if(VIGIL_SANITIZE OR VIGIL_FUZZ)
    target_link_options(${target} PRIVATE ${VIGIL_SANITIZER_FLAGS})
  endif()
  if(VIGIL_FUZZ)
    # Coverage instrumentation for every library the fuzzers link.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
endfunction()

# vigil_library(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Creates static library <name> with alias vigil::<name-without-vigil_>.
# Includes are repository-root relative: #include "agent/decode/ipv4.h".
function(vigil_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  string(REGEX REPLACE "^vigil_" "" short ${name})
  add_library(vigil::${short} ALIAS ${name})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/include)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  _vigil_common(${name})
endfunction()

# vigil_executable(<name> SOURCES ... DEPS ...)
function(vigil_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  # Programs land together in <build>/bin so scripts and tests find them.
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
  _vigil_common(${name})
endfunction()

# vigil_test(<name> SOURCES ... DEPS ... [LABELS ...] [TIMEOUT s] [PREFIX p])
# PREFIX is prepended to the discovered test names (one source built twice).
# One GoogleTest executable per module; tests are discovered when ctest runs
# (PRE_TEST) so a build never executes test binaries.
function(vigil_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT;PREFIX" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  _vigil_common(${name})
  # The launcher sets VIGIL_SOURCE_DIR, VIGIL_BINARY_DIR and VIGIL_SHARED_DATA.
  set_target_properties(${name} PROPERTIES CROSSCOMPILING_EMULATOR
    "${PROJECT_SOURCE_DIR}/tests/support/test_env.sh;${PROJECT_SOURCE_DIR};${PROJECT_BINARY_DIR};${VIGIL_SHARED_DATA}")
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT 60
    TEST_PREFIX "${ARG_PREFIX}"
    PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}")
endfunction()

# vigil_fuzz_target(<name> SOURCES <harness.cpp> DEPS ... CORPUS <dir>)
# The harness defines LLVMFuzzerTestOneInput. Always builds <name>_replay
# (harness + tests/fuzz/standalone_replay.cpp) and registers a ctest that
# replays every file of CORPUS, so a normal gcc build exercises the corpus.
# With -DVIGIL_FUZZ=ON (clang) it also builds the libFuzzer binary <name>.
function(vigil_fuzz_target name)
  cmake_parse_arguments(ARG "" "CORPUS" "SOURCES;DEPS" ${ARGN})
  if(NOT VIGIL_FUZZ)
    add_executable(${name}_replay ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/tests/fuzz/standalone_replay.cpp)
    target_include_directories(${name}_replay PRIVATE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name}_replay PRIVATE ${ARG_DEPS})
    _vigil_common(${name}_replay)
    add_test(NAME fuzz_replay.${name} COMMAND ${name}_replay ${ARG_CORPUS})
    set_tests_properties(fuzz_replay.${name} PROPERTIES LABELS "fuzz" TIMEOUT 300)
  else()
    add_executable(${name} ${ARG_SOURCES})
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} PRIVATE ${ARG_DEPS})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    add_test(NAME fuzz_replay.${name} COMMAND ${name} -runs=0 ${ARG_CORPUS})
    set_tests_properties(fuzz_replay.${name} PROPERTIES LABELS "fuzz" TIMEOUT 300)
  endif()
endfunction()
