#pragma once
// Shared driver of the analyzer fuzzers. The input is one byte of variant,
// then a script of operations, each `op (1 byte) | length (2 bytes, big
// endian) | payload`:
//   op & 1        direction (0 originator, 1 responder)
//   (op >> 1) & 3 0 data (payload delivered), 1 gap of `length` bytes,
//                 2 end of data on that side, 3 data split into 1-byte calls
// A truncated last operation delivers what is left. The driver behaves like
// the flow table (stops at kGiveUp, then ends the flow) and checks the
// invariants every analyzer promises: records are valid protobuf (strings
// are UTF-8), anomaly names are stable snake_case, kRecognized at most once.

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "agent/analyzers/analyzer.h"
#include "vigil/v1/records.pb.h"

namespace vigil::fuzz {

using agent::analyzers::Analyzer;
using agent::analyzers::AnalyzerContext;
using agent::analyzers::Direction;
using agent::analyzers::Verdict;

class CheckingContext final : public AnalyzerContext {
 public:
  void EmitRecord(vigil::v1::Event&& event) override {
    std::string wire;
    if (!event.SerializeToString(&wire)) std::abort();
    vigil::v1::Event back;
    // Parsing fails on a proto3 string that is not UTF-8: escaping is broken.
    if (!back.ParseFromString(wire)) std::abort();
    ++records;
  }
  void Anomaly(std::string_view name) override {
    if (name.empty()) std::abort();
    for (char c : name) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) std::abort();
    }
  }
  void AddService(std::string_view service) override {
    if (service.empty()) std::abort();
  }
  int records = 0;
};

inline void DriveScript(Analyzer& analyzer, std::span<const uint8_t> script) {
  bool recognized = false;
  bool stopped = false;
  int64_t ts = 1'700'000'000'000'000'000;
  auto deliver = [&](Direction dir, std::span<const uint8_t> bytes) {
    if (stopped) return;
    const Verdict v = analyzer.OnData(dir, bytes, ts);
    if (v == Verdict::kRecognized) {
      if (recognized) std::abort();  // reported twice
      recognized = true;
    }
    if (v == Verdict::kGiveUp) stopped = true;
  };
  size_t i = 0;
  while (i < script.size() && !stopped) {
    const uint8_t op = script[i++];
    size_t len = 0;
    if (i + 2 <= script.size()) {
      len = (size_t{script[i]} << 8) | script[i + 1];
      i += 2;
    } else {
      i = script.size();
    }
    const Direction dir = (op & 1) ? Direction::kResp : Direction::kOrig;
    ts += 1'000'000;
    switch ((op >> 1) & 3) {
      case 0:
      case 3: {
        const size_t n = std::min(len, script.size() - i);
        auto bytes = script.subspan(i, n);
        i += n;
        if (((op >> 1) & 3) == 3) {
          for (size_t k = 0; k < bytes.size(); ++k) deliver(dir, bytes.subspan(k, 1));
        } else {
          deliver(dir, bytes);
        }
        break;
      }
      case 1:
        analyzer.OnGap(dir, len);
        break;
      case 2:
        analyzer.OnEndOfData(dir);
        break;
    }
  }
  if (!stopped) analyzer.OnFlowEnd(ts);
}

}  // namespace vigil::fuzz
