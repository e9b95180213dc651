#pragma once
// ZeekJsonSink: writes records as Zeek-style JSON lines (`--output json`),
// one object per line with `_path` = conn | dns | ssl | http, then the fields
// of the record's Zeek view (proto/vigil/v1/zeek/zeek_view.h: names, order,
// omissions and units of docs/records.md), so the agent can be used offline
// like `zeek -r` and its output compared with Zeek's logs. This file only
// decides how each Zeek type is written in JSON, as Zeek's JSON writer does.
//
// Each line is rendered into a reused buffer and written with one fwrite()
// (stdio buffering does the rest); nothing else touches the stream. Emit()
// runs on the capture thread; the sink is not thread-safe.

#include <cstdint>
#include <cstdio>
#include <string>

#include "agent/export/record_sink.h"

namespace vigil::agent::exporter {

struct ZeekJsonStats {
  uint64_t records_written = 0;
  uint64_t write_errors = 0;             ///< lines lost because the stream failed (e.g. EPIPE)
  uint64_t records_unrenderable = 0;     ///< records without a Zeek view, not written: the sum of
  uint64_t records_without_payload = 0;  ///<   events without a record (record_without_payload)
  uint64_t records_bad_address = 0;      ///<   addresses not 4 or 16 bytes (bad_address_length)
};

/// Appends the JSON object for `event` (no trailing newline) to `out`.
/// Returns false, appending nothing, if the event has no Zeek view.
bool RenderZeekJson(const vigil::v1::Event& event, std::string& out);

class ZeekJsonSink final : public RecordSink {
 public:
  /// Does not take ownership of `out` (e.g. stdout).
  explicit ZeekJsonSink(std::FILE* out);
  void Emit(vigil::v1::Event&& event) override;
  bool Flush(int timeout_ms) override;
  const ZeekJsonStats& stats() const { return stats_; }

 private:
  std::FILE* out_;
  std::string line_;
  ZeekJsonStats stats_;
};

}  // namespace vigil::agent::exporter
