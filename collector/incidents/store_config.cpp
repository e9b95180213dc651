#include "collector/incidents/store_config.h"

#include <system_error>

namespace vigil::collector::incidents {
namespace {

bool Exists(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

}  // namespace

std::vector<ConfigProblem> ValidateStoreConfig(const StoreConfig& c) {
  std::vector<ConfigProblem> out;
  auto add = [&](std::string field, std::string message) {
    out.push_back(ConfigProblem{std::move(field), std::move(message)});
  };
  if (c.db_path.empty()) add("db_path", "is required");
  if (c.incident_window.count() <= 0) add("incident_window", "must be positive");
  if (c.checkpoint_every_records == 0) add("checkpoint_every_records", "must be at least 1");
  if (c.checkpoint_every.count() <= 0) add("checkpoint_every", "must be positive");
  if (c.signing_key_path.empty()) {
    add("signing_key_path", "is required (create one with `vigilctl incidents keygen --key PATH`)");
  } else if (!Exists(c.signing_key_path)) {
    add("signing_key_path", "no such file: " + c.signing_key_path.string());
  }
  if (c.retention.count() < 0) add("retention", "must not be negative (0 keeps everything)");
  if (c.busy_timeout.count() <= 0) add("busy_timeout", "must be positive");
  const auto& f = c.forwarding;
  if (f.enabled) {
    if (f.host.empty()) add("forwarding.host", "is required when forwarding is enabled");
    if (f.port == 0) add("forwarding.port", "must be 1-65535");
    if (f.ca_file.empty()) {
      add("forwarding.ca_file", "is required: the receiver's certificate must be verified");
    } else if (!Exists(f.ca_file)) {
      add("forwarding.ca_file", "no such file: " + f.ca_file.string());
    }
    if (f.client_cert_file.empty() != f.client_key_file.empty()) {
      add(f.client_cert_file.empty() ? "forwarding.client_cert_file" : "forwarding.client_key_file",
          "client_cert_file and client_key_file go together");
    }
    if (!f.client_cert_file.empty() && !Exists(f.client_cert_file)) {
      add("forwarding.client_cert_file", "no such file: " + f.client_cert_file.string());
    }
    if (!f.client_key_file.empty() && !Exists(f.client_key_file)) {
      add("forwarding.client_key_file", "no such file: " + f.client_key_file.string());
    }
    if (f.buffer_capacity == 0) add("forwarding.buffer_capacity", "must be at least 1");
    if (f.backoff_initial.count() <= 0) add("forwarding.backoff_initial", "must be positive");
    if (f.backoff_max < f.backoff_initial) {
      add("forwarding.backoff_max", "must not be smaller than backoff_initial");
    }
    if (f.io_timeout.count() <= 0) add("forwarding.io_timeout", "must be positive");
    if (f.facility < 0 || f.facility > 23) add("forwarding.facility", "must be 0-23 (RFC 5424)");
  }
  return out;
}

}  // namespace vigil::collector::incidents
