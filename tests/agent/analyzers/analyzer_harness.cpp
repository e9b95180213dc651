#include "tests/agent/analyzers/analyzer_harness.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <span>

namespace vigil::testing {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

RunResult RunConversation(const AnalyzerFactory& make, const std::vector<Delivery>& conversation,
                          Segmentation seg) {
  RecordingContext ctx;
  RunResult result;
  std::unique_ptr<Analyzer> analyzer = make(ctx);
  int64_t last_ts = 0;
  auto feed = [&](Direction dir, std::span<const uint8_t> piece, int64_t ts) {
    if (result.gave_up) return;
    const Verdict v = analyzer->OnData(dir, piece, ts);
    if (v == Verdict::kRecognized) {
      result.recognized = true;
      ++result.recognized_count;
    }
    if (v == Verdict::kGiveUp) result.gave_up = true;
  };
  for (size_t i = 0; i < conversation.size(); ++i) {
    const Delivery& d = conversation[i];
    last_ts = d.ts_ns;
    std::span<const uint8_t> bytes(d.bytes);
    if (seg.delivery == static_cast<int>(i)) {
      const size_t at = std::min(seg.at, bytes.size());
      feed(d.dir, bytes.first(at), d.ts_ns);
      feed(d.dir, bytes.subspan(at), d.ts_ns);
    } else if (seg.piece > 0) {
      for (size_t off = 0; off < bytes.size(); off += seg.piece) {
        feed(d.dir, bytes.subspan(off, std::min(seg.piece, bytes.size() - off)), d.ts_ns);
      }
    } else {
      feed(d.dir, bytes, d.ts_ns);
    }
  }
  if (!result.gave_up) {
    analyzer->OnEndOfData(Direction::kOrig);
    analyzer->OnEndOfData(Direction::kResp);
    analyzer->OnFlowEnd(last_ts);
  }
  result.events = std::move(ctx.events);
  result.anomalies = std::move(ctx.anomalies);
  result.services = std::move(ctx.services);
  return result;
}

namespace {

std::string Compare(const RunResult& want, const RunResult& got, const std::string& label) {
  if (want.recognized != got.recognized || want.gave_up != got.gave_up) {
    return label + ": verdicts differ";
  }
  if (got.recognized_count > 1) return label + ": kRecognized reported more than once";
  if (want.anomalies != got.anomalies) return label + ": anomalies differ";
  if (want.services != got.services) return label + ": services differ";
  if (want.events.size() != got.events.size()) {
    return label + ": " + std::to_string(got.events.size()) + " records instead of " +
           std::to_string(want.events.size());
  }
  for (size_t i = 0; i < want.events.size(); ++i) {
    if (!google::protobuf::util::MessageDifferencer::Equals(want.events[i], got.events[i])) {
      return label + ": record " + std::to_string(i) + " differs:\n" +
             want.events[i].DebugString() + "vs\n" + got.events[i].DebugString();
    }
  }
  return {};
}

}  // namespace

std::string CheckSegmentationInvariance(const AnalyzerFactory& make,
                                        const std::vector<Delivery>& conversation) {
  const RunResult whole = RunConversation(make, conversation);
  if (std::string diff =
          Compare(whole, RunConversation(make, conversation, {.piece = 1}), "byte by byte");
      !diff.empty()) {
    return diff;
  }
  for (size_t i = 0; i < conversation.size(); ++i) {
    for (size_t at = 1; at < conversation[i].bytes.size(); ++at) {
      Segmentation seg{.piece = 0, .delivery = static_cast<int>(i), .at = at};
      std::string diff =
          Compare(whole, RunConversation(make, conversation, seg),
                  "delivery " + std::to_string(i) + " split at " + std::to_string(at));
      if (!diff.empty()) return diff;
    }
  }
  return {};
}

}  // namespace vigil::testing
