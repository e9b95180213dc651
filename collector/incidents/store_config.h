#pragma once
// Settings the collector passes to the incident store. Plain values; the
// collector app maps its YAML onto these (collector/app owns parsing). Every
// field has a default that is safe for production except the paths.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vigil::collector::incidents {

/// How a commit reaches the disk (SQLite WAL mode in both cases).
enum class Durability {
  /// synchronous=FULL: every commit fsyncs the WAL. An acknowledged batch
  /// survives kill -9 *and* power loss / kernel panic. Default: an Ack lets
  /// the agent delete its spool, so a commit lost after the Ack is lost for
  /// good. Group commit (CommitBatches over several batches) amortises the
  /// fsync.
  kFull,
  /// synchronous=NORMAL: commits are written to the WAL without fsync; they
  /// survive kill -9 of the process (the OS has the pages) but the last
  /// commits may vanish on power loss. Only for hosts with a battery-backed
  /// write cache or where losing seconds of alerts on power loss is accepted.
  kNormal,
};

/// Live forwarding of alerts to a SIEM as RFC 5424 syslog over TLS (RFC 5425).
struct ForwardingConfig {
  bool enabled = false;
  std::string host;                        ///< receiver address or name
  uint16_t port = 6514;                    ///< RFC 5425 port
  std::string server_name;                 ///< name to verify in its certificate (default: host)
  std::filesystem::path ca_file;           ///< CA bundle that signed the receiver's certificate
  std::filesystem::path client_cert_file;  ///< optional client certificate (PEM)
  std::filesystem::path client_key_file;   ///< its private key (PEM)
  size_t buffer_capacity = 10000;          ///< alerts held while the receiver is unreachable
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds io_timeout{5000};  ///< connect, handshake and write timeout
  int facility = 4;                            ///< RFC 5424 facility (4 = security/authorization)
  std::string hostname;                        ///< syslog HOSTNAME field (default: gethostname)
  bool forward_shadow = false;  ///< shadow alerts are recorded, not raised: off by default
};

struct StoreConfig {
  std::filesystem::path db_path;
  /// A new alert joins the open incident of the same rule, agency and group
  /// key when its event time is within this window of the incident's last
  /// alert; otherwise it opens a new incident.
  std::chrono::seconds incident_window{3600};
  /// Signed checkpoint after this many new records ...
  uint64_t checkpoint_every_records = 10000;
  /// ... or this long after the previous checkpoint when records were added.
  std::chrono::seconds checkpoint_every{300};
  /// Ed25519 private key (PEM, mode 0600). Required for the collector.
  std::filesystem::path signing_key_path;
  /// Records older than this are pruned by PruneExpired(); 0 keeps everything.
  std::chrono::seconds retention{std::chrono::hours(24 * 90)};
  Durability durability = Durability::kFull;
  std::chrono::milliseconds busy_timeout{5000};
  /// Who writes (recorded in the genesis record and lifecycle defaults);
  /// empty = host name.
  std::string collector_id;
  ForwardingConfig forwarding;
};

/// One problem with a StoreConfig. `field` is the dotted path of the setting
/// ("forwarding.ca_file") so the collector can map it back to its YAML
/// location (file:line:column).
struct ConfigProblem {
  std::string field;
  std::string message;
};

/// Checks every setting and returns all problems at once (empty = valid).
/// Does not touch the file system beyond checking that files exist.
std::vector<ConfigProblem> ValidateStoreConfig(const StoreConfig& config);

}  // namespace vigil::collector::incidents
