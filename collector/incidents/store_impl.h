#pragma once
// Internal to collector/incidents: the state behind IncidentStore, shared by
// incident_store.cpp (writes, lifecycle) and incident_export.cpp (export).
// Not a public header; guarded by IncidentStore's mutex.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collector/incidents/checkpoint_key.h"
#include "collector/incidents/incident_store.h"
#include "collector/incidents/sqlite_connection.h"
#include "collector/incidents/syslog_forwarder.h"

namespace vigil::collector::incidents {

struct IncidentStore::Impl {
  Connection db;
  std::mutex mu;
  std::optional<SigningKey> key;
  std::unique_ptr<SyslogForwarder> forwarder;

  // Valid inside a write transaction only (re-read at BEGIN).
  ChainHead head;
  bool in_txn = false;

  // Checkpoint policy state (this process's view).
  uint64_t last_checkpoint_seq = 0;
  /// flock()ed "<db>.lock" held by the collector: one collector per log, and
  /// the kernel drops it on kill -9, so a stale "running" marker means a crash.
  int lock_fd = -1;
  std::string hostname;
  int64_t last_checkpoint_ns = 0;
  bool closed = false;

  // Prepared statements, created on first use.
  Statement read_head;
  Statement insert_record;
  std::map<std::string, Statement, std::less<>> insert_content;
  Statement find_incident, insert_incident, update_incident_alert;
  Statement get_agent, upsert_agent, upsert_ledger;

  std::expected<void, StoreError> Begin();
  std::expected<void, StoreError> Commit();
  void Rollback();
  std::expected<ChainHead, StoreError> ReadHead();
  /// Appends one chain record (records row + content row) at head+1.
  std::expected<uint64_t, StoreError> Append(std::string_view kind,
                                             std::span<const FieldValue> fields,
                                             int64_t recorded_ns);
  std::expected<CheckpointInfo, StoreError> AppendCheckpoint(std::string_view store_id,
                                                             std::string_view reason,
                                                             int64_t now_ns);
};

/// Shared column list and row reader for alert exports and `show`.
std::string_view ExportSelectColumns();
ExportRow ReadExportRow(const Statement& stmt);

}  // namespace vigil::collector::incidents
