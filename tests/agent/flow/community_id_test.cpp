// Community ID v1 conformance against the reference data in
// VIGIL_SHARED_DATA/communityid: the 35 tuple vectors (three renderings),
// every packet of the reference captures decoded and hashed, and every
// baseline entry of combined.pcap.gz found on the flow table's records.
// Skips with a message when the data is absent (label: conformance).

#include "agent/flow/community_id.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/capture/pcap_sources.h"
#include "tests/agent/flow/flow_test_util.h"

namespace vigil::agent::flow {
namespace {

namespace fs = std::filesystem;

fs::path Data() {
  const char* env = std::getenv("VIGIL_SHARED_DATA");
  return fs::path(env != nullptr && *env != '\0' ? env : VIGIL_SHARED_DATA_DEFAULT) / "communityid";
}

#define REQUIRE_DATA()                                                    \
  if (!fs::exists(Data() / "tuple_vectors.json")) {                       \
    GTEST_SKIP() << "Community ID reference data not found at " << Data() \
                 << " (set VIGIL_SHARED_DATA): conformance NOT checked";  \
  }

std::string Bytes(const std::string& text) {
  uint8_t buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1)
    return std::string(reinterpret_cast<char*>(buf), 4);
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1)
    return std::string(reinterpret_cast<char*>(buf), 16);
  ADD_FAILURE() << "bad address " << text;
  return {};
}

std::span<const uint8_t> Span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

CommunityIdTuple TupleFor(uint8_t proto, const std::string& saddr, const std::string& daddr,
                          bool has_ports, uint16_t sport, uint16_t dport) {
  CommunityIdTuple t;
  t.saddr = Span(saddr);
  t.daddr = Span(daddr);
  t.proto = proto;
  t.has_ports = has_ports && CommunityIdUsesPorts(proto);
  if (proto == 1 || proto == 58) {
    const IcmpPorts m = MapIcmp(proto, static_cast<uint8_t>(sport), static_cast<uint8_t>(dport));
    t.sport = m.src;
    t.dport = m.dst;
    t.one_way = m.one_way;
  } else {
    t.sport = sport;
    t.dport = dport;
  }
  return t;
}

TEST(CommunityIdConformance, TupleVectors) {
  REQUIRE_DATA();
  std::ifstream in(Data() / "tuple_vectors.json");
  const auto vectors = nlohmann::json::parse(in);
  ASSERT_GE(vectors.size(), 35u);
  int checked = 0;
  for (const auto& v : vectors) {
    const std::string s = Bytes(v["saddr"]), d = Bytes(v["daddr"]);
    const bool ports = !v["sport"].is_null();
    const auto t =
        TupleFor(v["proto"].get<uint8_t>(), s, d, ports, ports ? v["sport"].get<uint16_t>() : 0,
                 ports ? v["dport"].get<uint16_t>() : 0);
    const std::string what = v.dump();
    if (!v["expected_seed0_b64"].is_null()) {
      EXPECT_EQ(CommunityId(t, 0, true), v["expected_seed0_b64"].get<std::string>()) << what;
      ++checked;
    }
    if (!v["expected_seed1_b64"].is_null()) {
      EXPECT_EQ(CommunityId(t, 1, true), v["expected_seed1_b64"].get<std::string>()) << what;
      ++checked;
    }
    if (!v["expected_seed0_hex"].is_null()) {
      EXPECT_EQ(CommunityId(t, 0, false), v["expected_seed0_hex"].get<std::string>()) << what;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 103);  // every value the reference gives
}

// Decodes every frame of `pcap` and returns the seed-0 ID per 1-based frame
// ("-" for frames without IP).
std::vector<std::string> PerPacketIds(const fs::path& pcap, uint16_t seed, bool b64) {
  auto source = capture::OpenFileSource({pcap.string(), ""});
  EXPECT_TRUE(source.has_value()) << pcap;
  if (!source) return {};
  decode::Decoder decoder;
  decode::DecodedPacket pkt;
  capture::Packet raw;
  std::vector<std::string> ids;
  while ((*source)->Next(raw) == capture::ReadStatus::kPacket) {
    const auto r = decoder.Decode((*source)->LinkType(), raw.ts_ns, raw.wire_len, raw.data, pkt);
    if (r != decode::DecodeResult::kIp) {
      ids.push_back("-");
      continue;
    }
    const decode::Layer& l = pkt.Innermost();
    const bool v6 = l.ip_version == 6;
    const std::string s(reinterpret_cast<const char*>(l.src.bytes.data()) + (v6 ? 0 : 12),
                        v6 ? 16 : 4);
    const std::string d(reinterpret_cast<const char*>(l.dst.bytes.data()) + (v6 ? 0 : 12),
                        v6 ? 16 : 4);
    const bool icmp = l.proto == 1 || l.proto == 58;
    ids.push_back(
        CommunityId(TupleFor(l.proto, s, d, l.transport_ok, icmp ? l.icmp_type : l.src_port,
                             icmp ? l.icmp_code : l.dst_port),
                    seed, b64));
  }
  return ids;
}

void CheckPerPacketTsv(const fs::path& tsv, const fs::path& pcap_dir) {
  std::ifstream in(tsv);
  std::string line;
  std::getline(in, line);  // header
  std::map<std::string, std::vector<std::vector<std::string>>> by_pcap;
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::istringstream ls(line);
    for (std::string c; std::getline(ls, c, '\t');) cols.push_back(c);
    if (cols.size() >= 11 && cols[0].find(".gz") == std::string::npos)
      by_pcap[cols[0]].push_back(cols);
  }
  ASSERT_FALSE(by_pcap.empty());
  for (const auto& [pcap, rows] : by_pcap) {
    const auto seed0 = PerPacketIds(pcap_dir / pcap, 0, true);
    const auto seed1 = PerPacketIds(pcap_dir / pcap, 1, true);
    const auto hex = PerPacketIds(pcap_dir / pcap, 0, false);
    ASSERT_EQ(seed0.size(), rows.size()) << pcap;
    for (const auto& r : rows) {
      const size_t i = std::stoul(r[1]) - 1;
      EXPECT_EQ(seed0[i], r[8]) << pcap << " frame " << r[1];
      EXPECT_EQ(seed1[i], r[9]) << pcap << " frame " << r[1];
      EXPECT_EQ(hex[i], r[10]) << pcap << " frame " << r[1];
    }
  }
}

TEST(CommunityIdConformance, EveryPacketOfTheReferenceCaptures) {
  REQUIRE_DATA();
  CheckPerPacketTsv(Data() / "derived" / "per_packet_expected.tsv", Data() / "pcaps");
}

TEST(CommunityIdConformance, EqualAddressesTieBreakOnPortsNumerically) {
  REQUIRE_DATA();
  CheckPerPacketTsv(Data() / "derived" / "same_ip_edge_expected.tsv", Data() / "derived");
}

fs::path Gunzip(const fs::path& gz) {
  const fs::path out =
      fs::temp_directory_path() / ("vigil-cid-" + std::to_string(getpid()) + ".pcap");
  gzFile in = gzopen(gz.c_str(), "rb");
  std::ofstream o(out, std::ios::binary);
  char buf[65536];
  int n;
  while (in != nullptr && (n = gzread(in, buf, sizeof(buf))) > 0) o.write(buf, n);
  if (in != nullptr) gzclose(in);
  return out;
}

TEST(CommunityIdConformance, FlowRecordsMatchTheBaseline) {
  REQUIRE_DATA();
  const fs::path pcap = Gunzip(Data() / "pcaps" / "combined.pcap.gz");
  FlowHarness h;
  {
    auto source = capture::OpenFileSource({pcap.string(), ""});
    ASSERT_TRUE(source.has_value());
    decode::Decoder decoder;
    decode::DecodedPacket pkt;
    capture::Packet raw;
    while ((*source)->Next(raw) == capture::ReadStatus::kPacket) {
      if (decoder.Decode((*source)->LinkType(), raw.ts_ns, raw.wire_len, raw.data, pkt) ==
          decode::DecodeResult::kIp) {
        h.table().Process(pkt);
      }
    }
  }
  fs::remove(pcap);
  h.table().FlushAll();
  // Directed tuple (proto, saddr, daddr, sport, dport) -> ID, both directions
  // of every flow except one-way ICMP.
  std::map<std::string, std::string> ids;
  for (const auto& e : h.Conns()) {
    const auto& id = e.id();
    auto key = [&](const std::string& s, const std::string& d, uint32_t sp, uint32_t dp) {
      return std::to_string(id.ip_proto()) + "|" + s + "|" + d + "|" + std::to_string(sp) + "|" +
             std::to_string(dp);
    };
    ids[key(id.orig_addr(), id.resp_addr(), id.orig_port(), id.resp_port())] =
        e.flow().community_id();
    ids[key(id.resp_addr(), id.orig_addr(), id.resp_port(), id.orig_port())] =
        e.flow().community_id();
  }
  std::ifstream in(Data() / "baseline" / "baseline_deflt.json");
  const auto baseline = nlohmann::json::parse(in);
  ASSERT_EQ(baseline.size(), 23u);
  for (const auto& b : baseline) {
    const uint32_t sp = b["sport"].is_null() ? 0 : b["sport"].get<uint32_t>();
    const uint32_t dp = b["dport"].is_null() ? 0 : b["dport"].get<uint32_t>();
    const std::string k = std::to_string(b["proto"].get<int>()) + "|" + Bytes(b["saddr"]) + "|" +
                          Bytes(b["daddr"]) + "|" + std::to_string(sp) + "|" + std::to_string(dp);
    auto it = ids.find(k);
    ASSERT_NE(it, ids.end()) << "no flow for " << b.dump();
    EXPECT_EQ(it->second, b["communityid"].get<std::string>()) << b.dump();
  }
}

}  // namespace
}  // namespace vigil::agent::flow
