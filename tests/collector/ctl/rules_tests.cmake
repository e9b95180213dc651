# vigilctl rules: runs the real binary on rule files, event files and (with
# a stand-in agent script) captures.
if(TARGET vigilctl AND TARGET vigil_collector_engine)
  vigil_test(vigilctl_rules_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/rules_cli_test.cpp
    DEPS vigil_collector_engine
    LABELS integration
    TIMEOUT 120)
  target_compile_definitions(vigilctl_rules_test PRIVATE VIGILCTL_PATH="$<TARGET_FILE:vigilctl>")
  add_dependencies(vigilctl_rules_test vigilctl)
endif()
