// Fuzzes the Zeek view of wire records with any bytes protobuf accepts as a
// vigil.v1.Event. Properties, each an abort when broken:
//  - the agent's JSON writer and the collector's proto adapter accept and
//    reject the same records, with a named error;
//  - every JSON line is strict JSON the collector's adapter reads;
//  - with times and intervals brought into the range JSON numbers carry to
//    the microsecond (|t| < 2^31 s), the line read back is the proto
//    adapter's event, field for field.
// Seeds: tests/proto/fuzz/corpus, written by vigil_zeek_view_make_corpus.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "agent/export/zeek_json.h"
#include "collector/engine/event_json.h"
#include "collector/engine/event_proto.h"
#include "vigil/v1/records.pb.h"

namespace {

void Fail(const char* what, const std::string& line) {
  std::fprintf(stderr, "zeek view fuzz: %s\n%s\n", what, line.c_str());
  std::abort();
}

// Keeps seconds within +-2^31 and nanos within a second, so that a time's
// decimal text reads back to the same microsecond through a double.
template <typename T>
void Tame(T* t) {
  t->set_seconds(t->seconds() % (int64_t{1} << 31));
  t->set_nanos(t->nanos() % 1'000'000'000);
}

void TameTimes(vigil::v1::Event& e) {
  if (e.has_ts()) Tame(e.mutable_ts());
  if (e.has_flow() && e.flow().has_duration()) Tame(e.mutable_flow()->mutable_duration());
  if (e.has_dns()) {
    if (e.dns().has_rtt()) Tame(e.mutable_dns()->mutable_rtt());
    for (auto& ttl : *e.mutable_dns()->mutable_ttls()) Tame(&ttl);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace engine = vigil::collector::engine;
  vigil::v1::Event record;
  if (!record.ParseFromArray(data, static_cast<int>(size))) return 0;

  std::string line;
  const bool rendered = vigil::agent::exporter::RenderZeekJson(record, line);
  auto from_proto = engine::EventFromProto(record, {});
  if (rendered != from_proto.has_value()) Fail("JSON writer and proto adapter disagree", line);
  if (!rendered) {
    if (from_proto.error().code.empty()) Fail("unnamed adapter error", line);
    return 0;
  }
  if (!engine::EventFromJson(line, {})) Fail("JSON line not readable", line);

  TameTimes(record);
  line.clear();
  vigil::agent::exporter::RenderZeekJson(record, line);
  auto from_json = engine::EventFromJson(line, {});
  from_proto = engine::EventFromProto(record, {});
  if (!from_json || !from_proto) Fail("tamed record not adaptable", line);
  if (!(*from_json == *from_proto)) {
    Fail(("renderings differ:\n" + from_proto->ToJson()).c_str(), line);
  }
  return 0;
}
