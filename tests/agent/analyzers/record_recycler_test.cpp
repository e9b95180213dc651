// RecordRecycler: records leave through a reused per-thread event and come
// back as spares. What a record carries must never leak into the next one,
// whether the context copies the event (storage is reused) or moves it away,
// and the event must not keep the previous record's uid or id for a context
// that does not fill them.

#include "agent/analyzers/record_recycler.h"

#include <gtest/gtest.h>

#include "agent/analyzers/http/http_analyzer.h"
#include "tests/agent/analyzers/analyzer_harness.h"

namespace vigil::agent::analyzers {
namespace {

using Dns = RecordRecycler<vigil::v1::DnsRecord>;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

// Copies what it is given (the storage stays with the recycler) and, like
// the flow table's context, may fill uid and id first.
class CopyingContext final : public AnalyzerContext {
 public:
  explicit CopyingContext(bool fills_header) : fills_header_(fills_header) {}
  void EmitRecord(vigil::v1::Event&& event) override {
    if (fills_header_) {
      event.set_uid("CFilledByTheContext");
      event.mutable_id()->set_orig_port(1234);
      event.mutable_id()->set_orig_addr(std::string("\x0a\x00\x00\x01", 4));
    }
    events.push_back(event);
  }
  void Anomaly(std::string_view) override {}
  std::vector<vigil::v1::Event> events;

 private:
  bool fills_header_;
};

auto DnsField() {
  return [](vigil::v1::Event& e) { return e.mutable_dns(); };
}

TEST(RecordRecycler, ARecycledRecordStartsEmptyAndTheEventForgetsTheHeader) {
  CopyingContext filling(/*fills_header=*/true), bare(/*fills_header=*/false);
  for (int round = 0; round < 3; ++round) {  // later rounds run on recycled storage
    vigil::v1::DnsRecord rich;
    Dns::Local().Reuse(&rich);
    EXPECT_EQ(rich.ByteSizeLong(), 0u) << "round " << round;
    rich.set_query("rich.example");
    rich.set_qtype(28);
    rich.set_rcode(3);
    rich.add_answers("2001:db8::1");
    rich.add_answers("2001:db8::2");
    analyzers::SetDuration(rich.add_ttls(), 60'000'000'000);
    analyzers::SetDuration(rich.mutable_rtt(), 1'000'000);
    rich.set_rejected(true);
    Dns::Local().Emit(filling, kT0, &rich, DnsField());
    EXPECT_EQ(rich.ByteSizeLong(), 0u);  // handed over, nothing left behind

    vigil::v1::DnsRecord plain;
    Dns::Local().Reuse(&plain);
    EXPECT_EQ(plain.ByteSizeLong(), 0u) << "round " << round;
    plain.set_trans_id(7);
    Dns::Local().Emit(bare, kT0 + 5, &plain, DnsField());
  }
  ASSERT_EQ(filling.events.size(), 3u);
  ASSERT_EQ(bare.events.size(), 3u);
  for (const auto& e : filling.events) {
    EXPECT_EQ(e.dns().query(), "rich.example");
    EXPECT_EQ(e.dns().answers_size(), 2);
    EXPECT_EQ(e.uid(), "CFilledByTheContext");
    EXPECT_EQ(e.ts().seconds(), kT0 / 1'000'000'000);
  }
  for (const auto& e : bare.events) {
    vigil::v1::Event expected;
    analyzers::SetTimestamp(expected.mutable_ts(), kT0 + 5);
    expected.mutable_dns()->set_trans_id(7);
    // The id sub-message may be present but must be empty.
    vigil::v1::Event got = e;
    if (got.has_id()) {
      EXPECT_EQ(got.id().ByteSizeLong(), 0u);
      got.clear_id();
    }
    EXPECT_EQ(got.DebugString(), expected.DebugString());
  }
}

TEST(RecordRecycler, HttpTransactionsOnRecycledStorageMatchFreshOnes) {
  using testing::Delivery;
  using testing::Direction;
  auto make = [](AnalyzerContext& ctx) {
    FlowInfo info;
    info.transport = vigil::v1::TRANSPORT_TCP;
    info.resp_port = 80;
    return http::MaybeCreate(info, ctx);
  };
  auto conv = [](std::string_view request, std::string_view response) {
    return std::vector<Delivery>{{Direction::kOrig, testing::Bytes(request), kT0},
                                 {Direction::kResp, testing::Bytes(response), kT0 + 1000}};
  };
  const auto rich = conv(
      "POST /upload?x=%41 HTTP/1.1\r\nHost: rich.example\r\nUser-Agent: agent/1\r\n"
      "Referer: http://r.example/\r\nOrigin: http://o.example\r\n"
      "Authorization: Basic YWxpY2U6cHc=\r\nContent-Length: 5\r\n\r\n%PDF-",
      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  const auto plain = conv("GET / HTTP/1.0\r\n\r\n", "HTTP/1.0 204 No Content\r\n\r\n");
  // Reference: the plain transaction through a context that moves records
  // away (nothing of a previous record can be in them).
  const testing::RunResult fresh = testing::RunConversation(make, plain);
  ASSERT_EQ(fresh.events.size(), 1u);
  // Now rich then plain, through copying contexts: the plain record is built
  // on the storage the rich one used.
  for (int round = 0; round < 3; ++round) {
    CopyingContext a(true), b(false);
    auto first = make(a);
    auto second = make(b);
    for (const Delivery& d : rich) first->OnData(d.dir, d.bytes, d.ts_ns);
    first->OnFlowEnd(kT0 + 2000);
    for (const Delivery& d : plain) second->OnData(d.dir, d.bytes, d.ts_ns);
    second->OnFlowEnd(kT0 + 2000);
    ASSERT_EQ(a.events.size(), 1u);
    ASSERT_EQ(b.events.size(), 1u);
    EXPECT_EQ(a.events[0].http().username(), "alice");
    EXPECT_EQ(b.events[0].http().DebugString(), fresh.events[0].http().DebugString())
        << "round " << round;
    EXPECT_TRUE(b.events[0].uid().empty());
  }
}

}  // namespace
}  // namespace vigil::agent::analyzers
