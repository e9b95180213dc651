#pragma once
// Test harness for analyzers: a recording AnalyzerContext (the fake of the
// flow table's context) and a driver that feeds a conversation the way the
// flow table does, optionally re-segmented, so tests can assert that records
// do not depend on how TCP happened to split the bytes.

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/analyzers/analyzer.h"
#include "agent/analyzers/anomaly_names.h"
#include "vigil/v1/records.pb.h"

namespace vigil::testing {

using agent::analyzers::Analyzer;
using agent::analyzers::AnalyzerContext;
using agent::analyzers::Direction;
using agent::analyzers::Verdict;

/// AnalyzerContext that keeps everything it is given.
class RecordingContext final : public AnalyzerContext {
 public:
  void EmitRecord(vigil::v1::Event&& event) override { events.push_back(std::move(event)); }
  void Anomaly(std::string_view name) override {
    // Unregistered names would be folded into the metric's `other`.
    EXPECT_TRUE(agent::analyzers::IsAnomalyName(name))
        << name << " is not in agent/analyzers/anomaly_names.h";
    anomalies.emplace_back(name);
  }
  void AddService(std::string_view service) override { services.emplace_back(service); }

  std::vector<vigil::v1::Event> events;
  std::vector<std::string> anomalies;
  std::vector<std::string> services;
};

struct Delivery {
  Direction dir;
  std::vector<uint8_t> bytes;
  int64_t ts_ns = 0;
};

std::vector<uint8_t> Bytes(std::string_view s);

/// How the driver re-segments each delivery before feeding it.
struct Segmentation {
  /// Split every delivery into pieces of this size (0: keep it whole).
  size_t piece = 0;
  /// If set: split only delivery `delivery` once, at byte `at`.
  int delivery = -1;
  size_t at = 0;
};

struct RunResult {
  std::vector<vigil::v1::Event> events;
  std::vector<std::string> anomalies;
  std::vector<std::string> services;
  bool recognized = false;
  bool gave_up = false;
  int recognized_count = 0;
};

using AnalyzerFactory = std::function<std::unique_ptr<Analyzer>(AnalyzerContext&)>;

/// Feeds `conversation` as the flow table would: stops at kGiveUp, then
/// signals end of data on both sides and the end of the flow (at the last
/// delivery's time).
RunResult RunConversation(const AnalyzerFactory& make, const std::vector<Delivery>& conversation,
                          Segmentation seg = {});

/// Runs `conversation` whole, one byte at a time, and split once at every
/// byte of every delivery; returns an empty string when every run produced
/// the same records, anomalies and verdicts as the whole run, else a
/// description of the first difference.
std::string CheckSegmentationInvariance(const AnalyzerFactory& make,
                                        const std::vector<Delivery>& conversation);

}  // namespace vigil::testing
