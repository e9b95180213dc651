#pragma once
// The manifest written next to every export (JSON) and the check an auditor
// runs on a received export: recompute the file's SHA-256 and row count and
// compare them with the manifest. Stateless functions; thread-safe.

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <vector>

#include "collector/incidents/coverage_report.h"
#include "collector/incidents/export_format.h"
#include "collector/incidents/incident_store.h"
#include "collector/incidents/store_error.h"

namespace vigil::collector::incidents {

inline constexpr int kManifestVersion = 1;

/// Everything the manifest states about one export.
struct ManifestContent {
  ExportOptions options;
  ExportResult result;
  CoverageReport coverage;
  std::string store_id;
  int64_t created_ns = 0;
  std::string exporter_host;
};

std::string RenderManifest(const ManifestContent& content);

struct ExportCheck {
  bool ok = false;
  uint64_t manifest_rows = 0, actual_rows = 0;
  std::string manifest_sha256, actual_sha256;
  std::string format;
  std::vector<std::string> problems;  ///< empty when ok
};

/// Recomputes hash and row count of `file` and compares them with `manifest`.
/// Errors only when the manifest cannot be read or parsed; a mismatch is a
/// successful check with ok = false.
std::expected<ExportCheck, StoreError> VerifyExport(const std::filesystem::path& file,
                                                    const std::filesystem::path& manifest);

/// Parses manifest text (exposed for fuzzing); returns format, rows, sha256.
struct ManifestFacts {
  std::string format;
  uint64_t rows = 0;
  std::string sha256;
};
std::expected<ManifestFacts, StoreError> ParseManifestFacts(std::string_view text);

/// Counts the rows of an export file in the given format (CSV: RFC 4180
/// records after the header, quotes respected; others: lines).
uint64_t CountExportRows(std::string_view format, std::string_view bytes, bool& csv_state_ok);

}  // namespace vigil::collector::incidents
