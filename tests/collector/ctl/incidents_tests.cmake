# vigilctl incidents: runs the real binary against logs written by the store.
if(TARGET vigilctl AND TARGET vigil_collector_incidents)
  vigil_test(vigilctl_incidents_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/incidents_cli_test.cpp
    DEPS vigil_collector_incidents
    LABELS integration
    TIMEOUT 120)
  target_compile_definitions(vigilctl_incidents_test PRIVATE
    VIGILCTL_PATH="$<TARGET_FILE:vigilctl>")
  add_dependencies(vigilctl_incidents_test vigilctl)
endif()
