#pragma once
// One capture pipeline: PacketSource -> Decoder -> FlowTable -> RecordSink,
// run on its own thread until the input ends, Interrupt() is called, or the
// source fails. Time is packet time; when a live source is quiet the
// pipeline advances the flow table's timers with the wall clock, and it
// calls the sink's Tick() so time-based batching works. The loop never waits
// on the sink beyond Emit() (the collector sink only queues). At the end
// every open flow is written with end reason `shutdown`.
//
// Thread-safety: Run() on one thread; Interrupt() and Snapshot() from any
// thread (counters are published as a copy under a mutex about ten times a
// second, so the packet loop touches only plain structs).

#include <atomic>
#include <chrono>
#include <expected>
#include <memory>
#include <mutex>
#include <string>

#include "agent/capture/packet_source.h"
#include "agent/decode/decoder.h"
#include "agent/export/record_sink.h"
#include "agent/flow/flow_table.h"

namespace vigil::agent::app {

struct PipelineSnapshot {
  std::string name;
  capture::CaptureStats capture;
  decode::DecodeStats decode;
  flow::FlowTableStats flow;
  bool running = false;
};

class Pipeline {
 public:
  Pipeline(std::unique_ptr<capture::PacketSource> source, const decode::DecoderOptions& decoder,
           const flow::FlowTableOptions& flows, exporter::RecordSink& sink,
           flow::AnalyzerFactory analyzers);

  /// Processes packets until the end of input or Interrupt().
  std::expected<void, std::string> Run();
  void Interrupt();
  PipelineSnapshot Snapshot() const;
  const capture::PacketSource& source() const { return *source_; }

 private:
  void Publish();

  std::unique_ptr<capture::PacketSource> source_;
  decode::Decoder decoder_;
  exporter::RecordSink& sink_;
  flow::FlowTable table_;
  std::atomic<bool> running_{false};

  mutable std::mutex mu_;
  PipelineSnapshot published_;
  std::chrono::steady_clock::time_point next_publish_{};
};

}  // namespace vigil::agent::app
