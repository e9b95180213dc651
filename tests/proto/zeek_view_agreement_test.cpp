// The two renderings of a record's Zeek view agree. For records of every
// kind, the agent's JSON line (agent/export RenderZeekJson), read back by the
// collector's JSON adapter (EventFromJson), is field for field the rule event
// the collector builds from the wire record (EventFromProto); and every field
// the view produces is one the engine's catalog knows, with the same type.
// (A test may link agent and collector libraries; production code may not.)

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/export/zeek_json.h"
#include "collector/engine/event_json.h"
#include "collector/engine/event_proto.h"
#include "collector/engine/fields/field_catalog.h"
#include "collector/engine/json_reader.h"
#include "proto/vigil/v1/zeek/zeek_view.h"
#include "tests/proto/record_samples.h"

namespace vigil {
namespace {

namespace engine = vigil::collector::engine;
namespace zeek = vigil::v1::zeek;

engine::EventOrigin Origin() {
  engine::EventOrigin o;
  o.agent_id = "agent-7";
  o.agency = "finance";
  o.sequence = 12;
  o.received_ns = 99;
  return o;
}

std::string Json(const engine::Value& v) {
  std::string out;
  v.AppendJson(out);
  return v.present() ? out : "<absent>";
}

// Records each field's name and the catalog type its Zeek type maps to.
struct TypeRecorder {
  using T = engine::FieldType;
  void String(std::string_view n, std::string_view) { Add(n, T::kString); }
  void Count(std::string_view n, uint64_t) { Add(n, T::kCount); }
  void Int(std::string_view n, int64_t) { Add(n, T::kInt); }
  void Double(std::string_view n, double) { Add(n, T::kDouble); }
  void Bool(std::string_view n, bool) { Add(n, T::kBool); }
  void Time(std::string_view n, zeek::ZeekTime) { Add(n, T::kTime); }
  void Interval(std::string_view n, zeek::ZeekInterval) { Add(n, T::kInterval); }
  void Address(std::string_view n, const zeek::ZeekAddress&) { Add(n, T::kAddr); }
  void Port(std::string_view n, uint32_t) { Add(n, T::kPort); }
  void StringVector(std::string_view n, const zeek::ZeekStringVector&) { Add(n, T::kStringVector); }
  void IntervalVector(std::string_view n, const zeek::ZeekIntervalVector&) {
    Add(n, T::kIntervalVector);
  }
  void Add(std::string_view n, T t) { fields.emplace_back(std::string(n), t); }
  std::vector<std::pair<std::string, T>> fields;
};

engine::LogType LogOf(zeek::ZeekLog log) { return *engine::ParseLogType(zeek::ZeekLogPath(log)); }

// Counts above int64's range travel as JSON numbers the reader keeps as
// doubles (flagged as type mismatches, values kept): the only expected ones.
int CountsPastInt64(const vigil::v1::Event& e) {
  constexpr uint64_t kMax = static_cast<uint64_t>(INT64_MAX);
  int n = 0;
  struct Counter {
    void String(std::string_view, std::string_view) {}
    void Count(std::string_view, uint64_t v) { *n += v > kMax; }
    void Int(std::string_view, int64_t) {}
    void Double(std::string_view, double) {}
    void Bool(std::string_view, bool) {}
    void Time(std::string_view, zeek::ZeekTime) {}
    void Interval(std::string_view, zeek::ZeekInterval) {}
    void Address(std::string_view, const zeek::ZeekAddress&) {}
    void Port(std::string_view, uint32_t) {}
    void StringVector(std::string_view, const zeek::ZeekStringVector&) {}
    void IntervalVector(std::string_view, const zeek::ZeekIntervalVector&) {}
    int* n;
  } counter{&n};
  zeek::ZeekView::Of(e)->Visit(counter);
  return n;
}

TEST(ZeekViewAgreement, JsonLineReadBackEqualsTheProtoAdapterFieldForField) {
  for (const auto& [name, record] : vigil::test::RecordSamples()) {
    SCOPED_TRACE(name);
    std::string line;
    ASSERT_TRUE(agent::exporter::RenderZeekJson(record, line));
    engine::JsonAdapterStats stats;
    auto from_json = engine::EventFromJson(line, Origin(), std::nullopt, &stats);
    ASSERT_TRUE(from_json) << from_json.error().code << ": " << from_json.error().message << "\n"
                           << line;
    auto from_proto = engine::EventFromProto(record, Origin());
    ASSERT_TRUE(from_proto) << from_proto.error().message;

    ASSERT_EQ(from_json->log(), from_proto->log());
    const auto fields = engine::FieldCatalog::Instance().Fields(from_proto->log());
    for (size_t i = 0; i < fields.size(); ++i) {
      const auto slot = static_cast<uint16_t>(i);
      EXPECT_EQ(from_json->Get(slot), from_proto->Get(slot))
          << fields[i].name << ": json " << Json(from_json->Get(slot)) << " proto "
          << Json(from_proto->Get(slot)) << "\n"
          << line;
    }
    EXPECT_TRUE(from_json->extras().empty()) << line;
    EXPECT_TRUE(from_proto->extras().empty());
    EXPECT_EQ(from_json->time_ns(), from_proto->time_ns());
    EXPECT_EQ(from_json->orig_addr(), from_proto->orig_addr());
    EXPECT_EQ(from_json->resp_addr(), from_proto->resp_addr());
    EXPECT_TRUE(*from_json == *from_proto);
    EXPECT_EQ(from_json->ToJson(), from_proto->ToJson());
    EXPECT_EQ(stats.unknown_fields, 0u);
    EXPECT_EQ(stats.type_mismatches, static_cast<uint64_t>(CountsPastInt64(record)));
  }
}

TEST(ZeekViewAgreement, EveryViewFieldIsInTheCatalogWithItsType) {
  const auto& catalog = engine::FieldCatalog::Instance();
  for (const auto& [name, record] : vigil::test::RecordSamples()) {
    SCOPED_TRACE(name);
    auto view = zeek::ZeekView::Of(record);
    ASSERT_TRUE(view);
    const engine::LogType log = LogOf(view->log());
    TypeRecorder r;
    view->Visit(r);
    const auto fields = catalog.Fields(log);
    for (const auto& [field, type] : r.fields) {
      auto slot = catalog.Slot(log, field);
      ASSERT_TRUE(slot) << field << " is not in the " << view->path() << " catalog";
      EXPECT_EQ(static_cast<int>(fields[*slot].type), static_cast<int>(type)) << field;
    }
  }
}

TEST(ZeekViewAgreement, JsonKeysAreTheViewsFieldsInOrder) {
  for (const auto& [name, record] : vigil::test::RecordSamples()) {
    SCOPED_TRACE(name);
    std::string line;
    ASSERT_TRUE(agent::exporter::RenderZeekJson(record, line));
    auto members = engine::ParseJsonObject(line);
    ASSERT_TRUE(members) << members.error().message << "\n" << line;
    TypeRecorder r;
    zeek::ZeekView::Of(record)->Visit(r);
    std::vector<std::string> keys;
    for (const auto& m : *members) keys.push_back(m.first);
    std::vector<std::string> expected = {"_path"};
    for (const auto& f : r.fields) expected.push_back(f.first);
    EXPECT_EQ(keys, expected);
  }
}

TEST(ZeekViewAgreement, RecordsWithoutAViewFailTheSameWayOnBothSides) {
  auto empty = vigil::test::Envelope("10.0.0.1", 1, "10.0.0.2", 2, vigil::v1::TRANSPORT_TCP, 6);
  std::string line = "unchanged";
  EXPECT_FALSE(agent::exporter::RenderZeekJson(empty, line));
  EXPECT_EQ(line, "unchanged");
  EXPECT_EQ(engine::EventFromProto(empty, Origin()).error().code, "record_without_payload");

  auto bad = vigil::test::RecordSamples().front().event;
  bad.mutable_id()->set_resp_addr("abc");
  EXPECT_FALSE(agent::exporter::RenderZeekJson(bad, line));
  EXPECT_EQ(engine::EventFromProto(bad, Origin()).error().code, "bad_address_length");
}

}  // namespace
}  // namespace vigil
