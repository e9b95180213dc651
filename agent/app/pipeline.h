#pragma once
// One capture pipeline: PacketSource -> Decoder -> FlowTable -> RecordSink,
// run on its own thread until the input ends, Interrupt() is called, or the
// source fails. Packets are read in batches of what the source has (never
// waiting for a batch to fill) and decoded a batch ahead, so each packet's
// flow is fetched from memory while earlier packets are processed
// (FlowTable::Prepare/PrefetchFlow): the flow table is far larger than the
// CPU caches and its misses would otherwise dominate. Time is packet time; when a live source is
// quiet the pipeline advances the flow table's timers with the wall clock, and it calls the sink's
// Tick() so time-based batching works. The loop never waits on the sink beyond Emit() (the
// collector sink only queues). At the end every open flow is written with end reason `shutdown`.
//
// An offline source can be replayed at the capture's own pace (or a
// multiple of it): each packet waits until its timestamp, relative to the
// first packet, is due on the steady clock; while it waits, flow timers and
// the sink's batching advance on the replayed capture time, as they do on
// the wall clock for a quiet live link.
//
// Thread-safety: Run() on one thread; Interrupt() and Snapshot() from any
// thread (counters are published as a copy under a mutex about ten times a
// second, so the packet loop touches only plain structs).

#include <atomic>
#include <chrono>
#include <condition_variable>
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

struct PipelineOptions {
  /// Offline sources only: 0 = as fast as possible; X > 0 = X times the
  /// capture's pace (1 = real time).
  double replay_speed = 0;
};

class Pipeline {
 public:
  Pipeline(std::unique_ptr<capture::PacketSource> source, const decode::DecoderOptions& decoder,
           const flow::FlowTableOptions& flows, exporter::RecordSink& sink,
           flow::AnalyzerFactory analyzers, const PipelineOptions& options = {});

  /// Processes packets until the end of input or Interrupt().
  std::expected<void, std::string> Run();
  void Interrupt();
  PipelineSnapshot Snapshot() const;
  const capture::PacketSource& source() const { return *source_; }

 private:
  void Publish();
  /// Replay pacing: waits until the packet at `ts_ns` is due; false when
  /// interrupted meanwhile.
  bool WaitUntilDue(int64_t ts_ns);

  std::unique_ptr<capture::PacketSource> source_;
  decode::Decoder decoder_;
  exporter::RecordSink& sink_;
  flow::FlowTable table_;
  PipelineOptions options_;
  std::atomic<bool> running_{false};

  // Replay pacing: the first packet's timestamp and when it was replayed.
  bool paced_ = false;
  int64_t replay_origin_ts_ns_ = 0;
  std::chrono::steady_clock::time_point replay_origin_wall_{};
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  bool interrupted_ = false;  // guarded by wait_mu_

  mutable std::mutex mu_;
  PipelineSnapshot published_;
  std::chrono::steady_clock::time_point next_publish_{};
};

}  // namespace vigil::agent::app
