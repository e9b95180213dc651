// Packet sources: capture files (pcap with microsecond and nanosecond
// timestamps, pcapng, snap-length cut packets, BPF filters, errors with
// libpcap's message) and a live capture on a veth pair in a network
// namespace the test creates, with real UDP packets sent across it.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/capture/pcap_sources.h"
#include "agent/decode/decoder.h"
#include "agent/export/record_sink.h"
#include "agent/flow/flow_table.h"
#include "tests/support/packet_builder.h"
#include "tests/support/pcap_writer.h"

namespace vigil::agent::capture {
namespace {

namespace fs = std::filesystem;
namespace tb = vigil::testing;

fs::path Temp(const std::string& name) {
  return fs::temp_directory_path() / (std::to_string(getpid()) + "-" + name);
}

const tb::Bytes kA = tb::ParseIp("10.0.0.1"), kB = tb::ParseIp("10.0.0.2");
tb::Bytes UdpFrame(uint16_t dport) {
  return tb::Frame({}, kA, kB, tb::kProtoUdp, tb::Udp(kA, kB, 5000, dport, tb::Bytes(20, 7)));
}
tb::Bytes TcpFrame() {
  return tb::Frame({}, kA, kB, tb::kProtoTcp, tb::Tcp(kA, kB, 5000, 80, 1, 0, tb::tcp::kSyn));
}

TEST(FileSource, PcapTimestampsLengthsAndStats) {
  for (const bool nano : {false, true}) {
    const fs::path path = Temp(nano ? "ns.pcap" : "us.pcap");
    const tb::Bytes frame = UdpFrame(53);
    {
      tb::PcapWriter w;
      ASSERT_TRUE(w.Open(path.string(), tb::kLinkEthernet, nano, /*snaplen=*/64));
      ASSERT_TRUE(w.Write(1'700'000'000'123'456'789, frame));
      ASSERT_TRUE(w.Write(1'700'000'001'000'000'000, std::span(frame).first(40),
                          static_cast<uint32_t>(frame.size())));
      ASSERT_TRUE(w.Close());
    }
    auto source = OpenFileSource({path.string(), ""});
    ASSERT_TRUE(source.has_value()) << source.error();
    PacketSource& s = **source;
    EXPECT_EQ(s.LinkType(), 1);
    EXPECT_TRUE(s.Offline());
    EXPECT_EQ(s.Name(), path.string());
    Packet p;
    ASSERT_EQ(s.Next(p), ReadStatus::kPacket);
    EXPECT_EQ(p.ts_ns, nano ? 1'700'000'000'123'456'789 : 1'700'000'000'123'456'000);
    EXPECT_EQ(p.wire_len, frame.size());
    EXPECT_EQ(p.data.size(), frame.size());
    ASSERT_EQ(s.Next(p), ReadStatus::kPacket);
    EXPECT_EQ(p.data.size(), 40u);
    EXPECT_EQ(p.wire_len, frame.size());
    EXPECT_EQ(s.Next(p), ReadStatus::kEnd);
    EXPECT_EQ(s.Stats().packets_received, 2u);
    EXPECT_EQ(s.Stats().bytes_received, 2 * frame.size());
    fs::remove(path);
  }
}

void Le16(std::string& b, uint16_t v) { b.append(reinterpret_cast<const char*>(&v), 2); }
void Le32(std::string& b, uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); }

// A minimal pcapng: section header, one Ethernet interface with nanosecond
// resolution, one enhanced packet block.
TEST(FileSource, Pcapng) {
  const tb::Bytes frame = TcpFrame();
  std::string f;
  Le32(f, 0x0A0D0D0A);
  Le32(f, 28);
  Le32(f, 0x1A2B3C4D);
  Le16(f, 1);
  Le16(f, 0);
  Le32(f, 0xFFFFFFFF);
  Le32(f, 0xFFFFFFFF);
  Le32(f, 28);
  // Interface description with if_tsresol = 9 (nanoseconds).
  Le32(f, 1);
  Le32(f, 32);
  Le16(f, 1);
  Le16(f, 0);
  Le32(f, 65535);
  Le16(f, 9);
  Le16(f, 1);
  f.push_back(9);
  f.append(3, '\0');
  Le16(f, 0);
  Le16(f, 0);
  Le32(f, 32);
  const uint64_t ts = 1'700'000'002'000'000'123ull;
  const uint32_t padded = static_cast<uint32_t>((frame.size() + 3) & ~3u);
  Le32(f, 6);
  Le32(f, 32 + padded);
  Le32(f, 0);
  Le32(f, static_cast<uint32_t>(ts >> 32));
  Le32(f, static_cast<uint32_t>(ts));
  Le32(f, static_cast<uint32_t>(frame.size()));
  Le32(f, static_cast<uint32_t>(frame.size()));
  f.append(frame.begin(), frame.end());
  f.append(padded - frame.size(), '\0');
  Le32(f, 32 + padded);
  const fs::path path = Temp("x.pcapng");
  std::ofstream(path, std::ios::binary) << f;

  auto source = OpenFileSource({path.string(), ""});
  ASSERT_TRUE(source.has_value()) << source.error();
  Packet p;
  ASSERT_EQ((*source)->Next(p), ReadStatus::kPacket);
  EXPECT_EQ(p.ts_ns, static_cast<int64_t>(ts));
  EXPECT_EQ(p.data.size(), frame.size());
  EXPECT_EQ((*source)->Next(p), ReadStatus::kEnd);
  fs::remove(path);
}

TEST(FileSource, BpfFilterAndErrors) {
  const fs::path path = Temp("mixed.pcap");
  {
    tb::PcapWriter w;
    ASSERT_TRUE(w.Open(path.string()));
    w.Write(1, TcpFrame());
    w.Write(2, UdpFrame(53));
    w.Write(3, TcpFrame());
    w.Write(4, UdpFrame(123));
    w.Close();
  }
  auto filtered = OpenFileSource({path.string(), "udp and dst port 53"});
  ASSERT_TRUE(filtered.has_value()) << filtered.error();
  Packet p;
  int n = 0;
  while ((*filtered)->Next(p) == ReadStatus::kPacket) ++n;
  EXPECT_EQ(n, 1);

  auto bad = OpenFileSource({path.string(), "udp and (("});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().find("bad BPF filter"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("syntax error"), std::string::npos) << bad.error();

  auto missing = OpenFileSource({"/nonexistent/capture.pcap", ""});
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().find("No such file"), std::string::npos) << missing.error();

  const fs::path junk = Temp("junk.pcap");
  std::ofstream(junk) << "this is not a capture file";
  auto not_pcap = OpenFileSource({junk.string(), ""});
  EXPECT_FALSE(not_pcap.has_value());
  fs::remove(junk);

  auto interrupted = OpenFileSource({path.string(), ""});
  ASSERT_TRUE(interrupted.has_value());
  (*interrupted)->Interrupt();
  EXPECT_EQ((*interrupted)->Next(p), ReadStatus::kEnd);
  fs::remove(path);
}

TEST(FileSource, BatchesHoldTheSamePacketsAsNextAndOutliveLaterReads) {
  const fs::path path = Temp("batch.pcap");
  std::vector<tb::Bytes> frames;
  {
    tb::PcapWriter w;
    ASSERT_TRUE(w.Open(path.string(), tb::kLinkEthernet, /*nano=*/true));
    for (uint16_t i = 0; i < 7; ++i) {
      frames.push_back(i % 2 ? TcpFrame() : UdpFrame(1000 + i));
      ASSERT_TRUE(w.Write(1'000 + i, frames.back()));
    }
    ASSERT_TRUE(w.Close());
  }
  auto source = OpenFileSource({path.string(), ""});
  ASSERT_TRUE(source.has_value()) << source.error();
  PacketBatch first, second, third;
  ASSERT_EQ((*source)->NextBatch(first, 3), ReadStatus::kPacket);
  ASSERT_EQ((*source)->NextBatch(second, 3), ReadStatus::kPacket);
  ASSERT_EQ((*source)->NextBatch(third, 3), ReadStatus::kPacket);
  ASSERT_EQ(first.size(), 3u);
  ASSERT_EQ(second.size(), 3u);
  ASSERT_EQ(third.size(), 1u);  // what is left; no waiting for a full batch
  PacketBatch end;
  EXPECT_EQ((*source)->NextBatch(end, 3), ReadStatus::kEnd);
  EXPECT_TRUE(end.empty());
  // Every batch still holds its own bytes after the later reads.
  size_t k = 0;
  for (const PacketBatch* b : {&first, &second, &third}) {
    for (size_t i = 0; i < b->size(); ++i, ++k) {
      const Packet p = (*b)[i];
      EXPECT_EQ(p.ts_ns, 1'000 + static_cast<int64_t>(k));
      EXPECT_EQ(p.wire_len, frames[k].size());
      EXPECT_TRUE(std::equal(p.data.begin(), p.data.end(), frames[k].begin(), frames[k].end()))
          << "packet " << k;
    }
  }
  EXPECT_EQ((*source)->Stats().packets_received, 7u);

  auto interrupted = OpenFileSource({path.string(), ""});
  ASSERT_TRUE(interrupted.has_value());
  (*interrupted)->Interrupt();
  EXPECT_EQ((*interrupted)->NextBatch(first, 3), ReadStatus::kEnd);
  fs::remove(path);
}

TEST(FileSource, ATruncatedFileDeliversWhatWasReadThenTheError) {
  const fs::path path = Temp("cut.pcap");
  {
    tb::PcapWriter w;
    ASSERT_TRUE(w.Open(path.string()));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(w.Write(1 + i, UdpFrame(53)));
    ASSERT_TRUE(w.Close());
  }
  fs::resize_file(path, fs::file_size(path) - 10);  // the last packet is cut short
  auto source = OpenFileSource({path.string(), ""});
  ASSERT_TRUE(source.has_value()) << source.error();
  PacketBatch batch;
  ASSERT_EQ((*source)->NextBatch(batch, 8), ReadStatus::kPacket);
  EXPECT_EQ(batch.size(), 2u);
  EXPECT_EQ((*source)->NextBatch(batch, 8), ReadStatus::kError);
  EXPECT_NE((*source)->Error().find("truncated"), std::string::npos) << (*source)->Error();
  fs::remove(path);
}

TEST(LiveSource, UnknownInterfaceIsAnError) {
  LiveSourceOptions o;
  o.interface = "vigil-no-such0";
  auto s = OpenLiveSource(o);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().find("vigil-no-such0"), std::string::npos) << s.error();
}

// ---- live capture on a veth pair -----------------------------------------

bool Sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

class VethPair {
 public:
  VethPair() {
    const std::string id = std::to_string(getpid() % 100000);
    ns_ = "vigiltest" + id;
    host_ = "vth" + id + "a";
    peer_ = "vth" + id + "b";
    const std::string net = "10.213." + std::to_string(getpid() % 250) + ".";
    host_ip_ = net + "1";
    peer_ip_ = net + "2";
    ok_ =
        Sh("ip netns add " + ns_) && Sh("ip link add " + host_ + " type veth peer name " + peer_) &&
        Sh("ip link set " + peer_ + " netns " + ns_) &&
        Sh("ip addr add " + host_ip_ + "/30 dev " + host_) && Sh("ip link set " + host_ + " up") &&
        Sh("ip netns exec " + ns_ + " ip addr add " + peer_ip_ + "/30 dev " + peer_) &&
        Sh("ip netns exec " + ns_ + " ip link set " + peer_ + " up") &&
        Sh("ip netns exec " + ns_ + " ip link set lo up");
  }
  ~VethPair() {
    Sh("ip link del " + host_);
    Sh("ip netns del " + ns_);
  }
  bool ok() const { return ok_; }
  /// Sends `count` UDP datagrams from inside the namespace to the host side.
  bool SendUdp(int count, uint16_t port) const {
    return Sh("ip netns exec " + ns_ + " bash -c 'for i in $(seq " + std::to_string(count) +
              "); do echo hello$i > /dev/udp/" + host_ip_ + "/" + std::to_string(port) + "; done'");
  }
  const std::string& host() const { return host_; }
  const std::string& peer_ip() const { return peer_ip_; }

 private:
  std::string ns_, host_, peer_, host_ip_, peer_ip_;
  bool ok_ = false;
};

class RecordingSink final : public exporter::RecordSink {
 public:
  void Emit(v1::Event&& e) override { events.push_back(std::move(e)); }
  std::vector<v1::Event> events;
};

TEST(LiveSource, CapturesRealPacketsOnAVethPairInANetworkNamespace) {
  if (geteuid() != 0)
    GTEST_SKIP() << "needs root to create a network namespace: live capture NOT tested";
  VethPair veth;
  if (!veth.ok())
    GTEST_SKIP() << "no network namespace / veth support here: live capture NOT tested";
  LiveSourceOptions o;
  o.interface = veth.host();
  o.bpf_filter = "udp and dst port 9999";
  o.snaplen = 2048;
  o.buffer_size = 1 << 20;
  o.immediate = true;
  o.timeout_ms = 50;
  auto source = OpenLiveSource(o);
  ASSERT_TRUE(source.has_value()) << source.error();
  PacketSource& s = **source;
  EXPECT_FALSE(s.Offline());
  EXPECT_EQ(s.LinkType(), 1);  // Ethernet
  ASSERT_TRUE(veth.SendUdp(5, 9999));
  ASSERT_TRUE(veth.SendUdp(2, 8888));  // filtered out

  decode::Decoder decoder;
  RecordingSink sink;
  flow::FlowTableOptions fo;
  fo.seed = 1;
  flow::FlowTable table(fo, sink);
  decode::DecodedPacket pkt;
  Packet p;
  int seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (seen < 5 && std::chrono::steady_clock::now() < deadline) {
    const ReadStatus st = s.Next(p);
    if (st == ReadStatus::kTimeout) continue;
    ASSERT_EQ(st, ReadStatus::kPacket) << s.Error();
    ++seen;
    ASSERT_EQ(decoder.Decode(s.LinkType(), p.ts_ns, p.wire_len, p.data, pkt),
              decode::DecodeResult::kIp);
    table.Process(pkt);
  }
  ASSERT_EQ(seen, 5);
  table.FlushAll();
  // bash opens a new socket per datagram: one flow per source port, each towards 9999.
  uint64_t pkts = 0;
  for (const auto& e : sink.events) {
    ASSERT_TRUE(e.has_flow());
    EXPECT_EQ(e.id().resp_port(), 9999u);
    EXPECT_EQ(e.id().transport(), v1::TRANSPORT_UDP);
    EXPECT_EQ(e.id().orig_addr().size(), 4u);
    pkts += e.flow().totals().orig_pkts();
  }
  EXPECT_EQ(pkts, 5u);
  EXPECT_GE(s.Stats().packets_received, 5u);
  EXPECT_EQ(s.Stats().kernel_drops, 0u);

  // Interrupt() from another thread ends a blocked read.
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    s.Interrupt();
  });
  ReadStatus st;
  while ((st = s.Next(p)) == ReadStatus::kTimeout) {
  }
  stopper.join();
  EXPECT_EQ(st, ReadStatus::kEnd);
}

}  // namespace
}  // namespace vigil::agent::capture
