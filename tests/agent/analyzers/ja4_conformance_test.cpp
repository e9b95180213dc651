// JA4 / JA3 conformance against the FoxIO and salesforce reference vectors
// in $VIGIL_SHARED_DATA/ja4 (see its README). Skips, saying so, when the
// reference data is not available.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/analyzers/tls/fingerprint.h"
#include "agent/analyzers/tls/hello.h"

namespace vigil::agent::analyzers::tls {
namespace {

namespace fs = std::filesystem;
using google::protobuf::Struct;
using google::protobuf::Value;

fs::path SharedData() {
  if (const char* env = std::getenv("VIGIL_SHARED_DATA"); env != nullptr && *env != '\0') {
    return env;
  }
  return VIGIL_SHARED_DATA_DEFAULT;
}

fs::path Ja4Dir() { return SharedData() / "ja4" / "derived"; }

#define SKIP_WITHOUT_DATA(path)                                                            \
  if (!fs::exists(path)) {                                                                 \
    GTEST_SKIP() << "reference data not found: " << (path)                                 \
                 << " (set VIGIL_SHARED_DATA to the shared data directory); NOT verified"; \
  }

std::string Field(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end() || it->second.kind_case() != Value::kStringValue) return {};
  return it->second.string_value();
}

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

Struct ParseJson(const std::string& text) {
  Struct s;
  auto status = google::protobuf::util::JsonStringToMessage(text, &s);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return s;
}

std::vector<Struct> LoadHellos() {
  std::ifstream in(Ja4Dir() / "client_hellos.jsonl");
  std::vector<Struct> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(ParseJson(line));
  }
  return rows;
}

struct Tally {
  int checked = 0;
  int failed = 0;
};

// Checks every hello of one kind ('t' TCP, 'q' QUIC, 'd' DTLS).
Tally CheckKind(const std::vector<Struct>& rows, char kind) {
  Tally tally;
  for (const Struct& row : rows) {
    const std::string k = Field(row, "kind");
    if (k.size() != 1 || k[0] != kind) continue;
    ++tally.checked;
    const std::string where =
        Field(row, "pcap") + " frame " +
        std::to_string(static_cast<int>(row.fields().at("frame").number_value()));
    const std::vector<uint8_t> msg = FromHex(Field(row, "client_hello_hex"));
    // Handshake header: 4 bytes for TLS/QUIC, 12 for DTLS (RFC 6347 4.2.2).
    const size_t header = kind == 'd' ? 12 : 4;
    EXPECT_GT(msg.size(), header) << where;
    EXPECT_EQ(msg.empty() ? 0 : msg[0], 1) << where << ": not a ClientHello";
    if (msg.size() <= header || msg[0] != 1) {
      ++tally.failed;
      continue;
    }
    ClientHello hello;
    const auto err =
        ParseClientHello(std::span<const uint8_t>(msg).subspan(header), kind == 'd', hello);
    EXPECT_EQ(err, HelloError::kNone) << where;
    const Ja4Transport transport = kind == 't'   ? Ja4Transport::kTcp
                                   : kind == 'q' ? Ja4Transport::kQuic
                                                 : Ja4Transport::kDtls;
    const std::string ja4 = Ja4(hello, transport);
    const std::string ja4_r = Ja4Raw(hello, transport);
    const std::string ja3 = Ja3(hello);
    const std::string ja3_full = Ja3String(hello);
    bool ok = true;
    ok &= ja4 == Field(row, "ja4");
    ok &= ja4_r == Field(row, "ja4_r");
    if (!Field(row, "ja3").empty()) {
      ok &= ja3 == Field(row, "ja3");
      ok &= ja3_full == Field(row, "ja3_full");
    }
    EXPECT_EQ(ja4, Field(row, "ja4")) << where;
    EXPECT_EQ(ja4_r, Field(row, "ja4_r")) << where;
    if (!Field(row, "ja3").empty()) {
      EXPECT_EQ(ja3_full, Field(row, "ja3_full")) << where;
      EXPECT_EQ(ja3, Field(row, "ja3")) << where;
    }
    if (!ok) ++tally.failed;
  }
  return tally;
}

TEST(Ja4Conformance, TlsOverTcpClientHellos) {
  SKIP_WITHOUT_DATA(Ja4Dir() / "client_hellos.jsonl");
  const Tally t = CheckKind(LoadHellos(), 't');
  std::cout << "JA4/JA3 TCP ('t') hellos: " << t.checked - t.failed << "/" << t.checked
            << " match\n";
  EXPECT_GT(t.checked, 0);
  RecordProperty("tcp_hellos_checked", t.checked);
}

// The agent does not decrypt QUIC Initials, but the fingerprint code handles
// the decrypted hellos: checked here with the `q` prefix.
TEST(Ja4Conformance, QuicClientHellos) {
  SKIP_WITHOUT_DATA(Ja4Dir() / "client_hellos.jsonl");
  const Tally t = CheckKind(LoadHellos(), 'q');
  std::cout << "JA4/JA3 QUIC ('q') hellos: " << t.checked - t.failed << "/" << t.checked
            << " match (fingerprint function only; the agent does not decrypt QUIC)\n";
  EXPECT_GT(t.checked, 0);
}

// DTLS: the `d` prefix, DTLS versions and the cookie field.
TEST(Ja4Conformance, DtlsClientHellos) {
  SKIP_WITHOUT_DATA(Ja4Dir() / "client_hellos.jsonl");
  const Tally t = CheckKind(LoadHellos(), 'd');
  std::cout << "JA4/JA3 DTLS ('d') hellos: " << t.checked - t.failed << "/" << t.checked
            << " match (fingerprint function only; the agent has no DTLS analyzer)\n";
  EXPECT_GT(t.checked, 0);
}

TEST(Ja4Conformance, HashAndAlpnVectors) {
  const fs::path path = Ja4Dir() / "string_vectors.json";
  SKIP_WITHOUT_DATA(path);
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  const Struct doc = ParseJson(buf.str());
  int hashes = 0;
  for (const Value& v : doc.fields().at("hash_vectors").list_value().values()) {
    const Struct& vec = v.struct_value();
    EXPECT_EQ(Ja4Hash(Field(vec, "input")), Field(vec, "sha256_trunc12")) << Field(vec, "what");
    ++hashes;
  }
  EXPECT_GT(hashes, 0);
  // ALPN: the specification's answer (column "spec"), through a whole hello.
  int alpns = 0;
  for (const Value& v : doc.fields().at("alpn_vectors").list_value().values()) {
    const Struct& vec = v.struct_value();
    ClientHello hello;
    hello.legacy_version = 0x0303;
    hello.cipher_suites = {0x1301};
    const std::vector<uint8_t> first = FromHex(Field(vec, "first_alpn_hex"));
    hello.alpn = {std::string(first.begin(), first.end())};
    hello.has_alpn = true;
    hello.extension_types = {0x0010};
    EXPECT_EQ(Ja4(hello, Ja4Transport::kTcp).substr(8, 2), Field(vec, "spec"))
        << "first ALPN " << Field(vec, "first_alpn_hex");
    ++alpns;
  }
  EXPECT_GT(alpns, 0);
}

TEST(Ja4Conformance, Ja3StringVectors) {
  const fs::path path = Ja4Dir() / "ja3_string_vectors.json";
  SKIP_WITHOUT_DATA(path);
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  const Struct doc = ParseJson(buf.str());
  int n = 0;
  for (const Value& v : doc.fields().at("vectors").list_value().values()) {
    const Struct& vec = v.struct_value();
    EXPECT_EQ(Ja3Hash(Field(vec, "ja3_full")), Field(vec, "ja3")) << Field(vec, "ja3_full");
    ++n;
  }
  EXPECT_GT(n, 0);
}

}  // namespace
}  // namespace vigil::agent::analyzers::tls
