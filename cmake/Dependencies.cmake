# Every third-party dependency is found here, once. All come from Debian 12
# packages (scripts/bootstrap installs them); see ../shared/docs/deps.md for
# why each is found the way it is.

find_package(Threads REQUIRED)
# Debian's protobuf 3.21 ships no CMake config: module mode only.
find_package(Protobuf 3.21 REQUIRED)
find_package(gRPC 1.51 CONFIG REQUIRED)
# Debian ships no version file for prometheus-cpp: no version argument.
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(yaml-cpp 0.7 CONFIG REQUIRED)  # target: yaml-cpp (no namespace in 0.7)
find_package(CLI11 2.1 CONFIG REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(ZLIB REQUIRED)  # HTTP bodies sent gzip/deflate (agent analyzers)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)

if(VIGIL_BUILD_TESTS)
  find_package(GTest 1.12 CONFIG REQUIRED)
endif()
if(VIGIL_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
