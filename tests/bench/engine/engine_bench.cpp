// Rule engine throughput (events/s on one core), built but never run by
// ctest. Run from a Release build:
//   cmake -S . -B build-engine-rel -G Ninja -DCMAKE_BUILD_TYPE=Release
//   ninja -C build-engine-rel vigil_engine_bench
//   build-engine-rel/bin/vigil_engine_bench   (or tests/bench/engine/vigil_engine_bench)
//
// BM_ShippedPack: the rules/ pack (with its lists) on a realistic mix of
// records (conn 50 %, dns 30 %, ssl 10 %, http 10 %).
// BM_GeneratedRules/N: N generated rules of the shapes operators write
// (field equality, contains, lists, cidr) on the same mix; the candidate
// index should keep the cost per event nearly flat as N grows.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "collector/engine/engine.h"
#include "collector/engine/event_json.h"
#include "collector/engine/loader/load.h"

namespace {

using namespace vigil::collector::engine;  // NOLINT

std::string SourceDir() {
  const char* dir = std::getenv("VIGIL_SOURCE_DIR");
  return dir ? dir : VIGIL_SOURCE_DIR_DEFAULT;
}

std::vector<Event> MakeEvents(size_t n) {
  std::mt19937_64 rng(42);
  static const char* kSites[] = {"portal.gov.example",        "mail.gov.example",
                                 "intranet.gov.example",      "updates.vendor.example",
                                 "cdn.example.com",           "www.wikipedia.org",
                                 "login.microsoftonline.com", "api.github.com"};
  static const char* kUris[] = {
      "/",      "/index.html",          "/api/v1/items?id=42", "/static/app.js",
      "/login", "/download/report.pdf", "/images/logo.png",    "/search?q=permits"};
  static const char* kAgents[] = {"Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                                  "Mozilla/5.0 (X11; Linux x86_64)", "curl/8.4.0",
                                  "python-requests/2.31.0"};
  static const char* kStates[] = {"SF", "SF", "SF", "S0", "REJ", "RSTO", "S1", "SH"};
  static const int kPorts[] = {443, 443, 443, 80, 53, 22, 445, 3389, 8080, 25};
  std::vector<Event> out;
  out.reserve(n);
  auto ip = [&](const char* prefix) {
    return std::string(prefix) + std::to_string(rng() % 250 + 1);
  };
  char buf[1024];
  for (size_t i = 0; i < n; ++i) {
    const double ts = 1700000000.0 + static_cast<double>(i) * 0.001;
    const int kind = static_cast<int>(rng() % 10);
    const std::string src = ip("10.20.1."),
                      dst = (rng() % 3 == 0) ? ip("198.51.100.") : ip("10.20.5.");
    if (kind < 5) {
      const int port = kPorts[rng() % 10];
      const char* state = kStates[rng() % 8];
      std::snprintf(
          buf, sizeof buf,
          R"({"_path":"conn","ts":%.6f,"uid":"C%zu","id.orig_h":"%s","id.orig_p":%d,"id.resp_h":"%s","id.resp_p":%d,)"
          R"("proto":"tcp","duration":1.5,"orig_bytes":%d,"resp_bytes":%d,"conn_state":"%s","local_orig":true,)"
          R"("local_resp":%s,"missed_bytes":0,"history":"ShADadFf","orig_pkts":10,"orig_ip_bytes":1200,"resp_pkts":12,"resp_ip_bytes":9000,"ip_proto":6})",
          ts, i, src.c_str(), 40000 + static_cast<int>(rng() % 20000), dst.c_str(), port,
          static_cast<int>(rng() % 5000), static_cast<int>(rng() % 50000), state,
          dst.starts_with("10.") ? "true" : "false");
    } else if (kind < 8) {
      std::string q;
      if (rng() % 4 == 0) {
        q = "h";
        q += std::to_string(rng() % 1000);
        q += '.';
      }
      q += kSites[rng() % 8];
      // One lookup in 20 is an indicator some generated rule (ids 0..99) lists.
      if (rng() % 20 == 0)
        q = "ioc" + std::to_string(10 * (rng() % 10) + rng() % 3) + ".evil.example";
      std::snprintf(
          buf, sizeof buf,
          R"({"_path":"dns","ts":%.6f,"uid":"C%zu","id.orig_h":"%s","id.orig_p":%d,"id.resp_h":"10.20.0.53","id.resp_p":53,)"
          R"("proto":"udp","trans_id":%d,"rtt":0.002,"query":"%s","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A",)"
          R"("rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["10.20.5.7"],"TTLs":[300.0],"rejected":false})",
          ts, i, src.c_str(), 30000 + static_cast<int>(rng() % 30000),
          static_cast<int>(rng() % 65535), q.c_str());
    } else if (kind < 9) {
      std::snprintf(
          buf, sizeof buf,
          R"({"_path":"ssl","ts":%.6f,"uid":"C%zu","id.orig_h":"%s","id.orig_p":%d,"id.resp_h":"%s","id.resp_p":443,)"
          R"("version":"TLSv13","cipher":"TLS_AES_128_GCM_SHA256","curve":"x25519","server_name":"%s","resumed":false,)"
          R"("next_protocol":"h2","established":true,"ssl_history":"CsxknGIi","ja3":"0123456789abcdef0123456789abcdef",)"
          R"("ja4":"t13d1516h2_8daaf6152771_b0da82dd1658","client_alpn":["h2","http/1.1"]})",
          ts, i, src.c_str(), 40000 + static_cast<int>(rng() % 20000), dst.c_str(),
          kSites[rng() % 8]);
    } else {
      std::snprintf(
          buf, sizeof buf,
          R"({"_path":"http","ts":%.6f,"uid":"C%zu","id.orig_h":"%s","id.orig_p":%d,"id.resp_h":"%s","id.resp_p":80,)"
          R"("trans_depth":1,"method":"GET","host":"%s","uri":"%s","version":"1.1","user_agent":"%s",)"
          R"("request_body_len":0,"response_body_len":%d,"status_code":200,"status_msg":"OK","resp_mime_types":["text/html"]})",
          ts, i, src.c_str(), 40000 + static_cast<int>(rng() % 20000), dst.c_str(),
          kSites[rng() % 8],
          rng() % 20 == 0
              ? ("/up/webshell" + std::to_string(10 * (rng() % 10) + 4) + ".php").c_str()
              : kUris[rng() % 8],
          kAgents[rng() % 4], static_cast<int>(rng() % 100000));
    }
    auto e = EventFromJson(buf, EventOrigin{"bench-agent", "bench", 0, 0, 0});
    if (!e) std::abort();
    out.push_back(std::move(*e));
  }
  return out;
}

// In the collector an event is evaluated right after the adapter built it,
// so it is in cache; a pool that fits in L2 reproduces that (a pool of
// 20,000 events would measure memory latency, not the engine).
const std::vector<Event>& Events() {
  static const std::vector<Event> events = MakeEvents(256);
  return events;
}

void Run(benchmark::State& state, const std::shared_ptr<const RuleSet>& rules) {
  EngineOptions eo;
  eo.timing_sample = 0;  // measure evaluation, not its own instrumentation
  Engine engine(eo);
  engine.Swap(rules);
  const auto& events = Events();
  std::vector<Alert> alerts;
  size_t i = 0;
  for (auto _ : state) {
    engine.Evaluate(events[i], alerts);
    if (++i == events.size()) i = 0;
    if (alerts.size() > 4096) alerts.clear();
  }
  state.SetItemsProcessed(state.iterations());
  const auto stats = engine.Stats();
  state.counters["candidates/event"] = benchmark::Counter(
      static_cast<double>(stats->candidate_rules.Get()) / static_cast<double>(state.iterations()));
  state.counters["rules"] = static_cast<double>(stats->rules.size());
}

void BM_ShippedPack(benchmark::State& state) {
  static const auto rules = [] {
    LoadOptions o;
    const std::string root = SourceDir() + "/rules";
    o.paths = {root};
    o.lists = {{"bad_domains", root + "/lists/bad_domains.txt"},
               {"bad_addresses", root + "/lists/bad_addresses.txt"}};
    auto r = LoadRuleSet(o);
    if (!r.ok()) std::abort();
    return r.rule_set;
  }();
  Run(state, rules);
}
BENCHMARK(BM_ShippedPack);

std::string GeneratedRules(int n, const std::string& list_path) {
  std::mt19937_64 rng(7);
  std::string yaml;
  for (int i = 0; i < n; ++i) {
    const std::string id = "gen-" + std::to_string(i);
    yaml += (i ? "---\n" : "") + std::string("title: generated ") + std::to_string(i) +
            "\nid: " + id + "\nlevel: medium\n";
    switch (i % 10) {
      case 0:
      case 1:
      case 2:  // exact values on dns
        yaml +=
            "logsource: {product: zeek, service: dns}\ndetection:\n  sel:\n    query:\n      - "
            "'ioc" +
            std::to_string(i) + ".evil.example'\n      - 'ioc" + std::to_string(i) +
            "b.evil.example'\n"
            "    qtype_name: A\n  condition: sel\n";
        break;
      case 3:  // exact port + state on conn
        yaml += "logsource: {product: zeek, service: conn}\ndetection:\n  sel:\n    id.resp_p: " +
                std::to_string(10000 + i) +
                "\n    conn_state: SF\n  filter:\n    id.orig_h|cidr: 10.99.0.0/16\n"
                "  condition: sel and not filter\n";
        break;
      case 4:
      case 5:  // contains on http
        yaml +=
            "logsource: {product: zeek, service: http}\ndetection:\n  sel:\n    uri|contains: "
            "'/webshell" +
            std::to_string(i) + ".'\n  ua:\n    user_agent|contains: 'agent-" + std::to_string(i) +
            "'\n"
            "  condition: sel or ua\n";
        break;
      case 6:  // endswith lists of domains on ssl
        yaml +=
            "logsource: {product: zeek, service: ssl}\ndetection:\n  sel:\n    "
            "server_name|endswith:\n";
        for (int k = 0; k < 5; ++k)
          yaml += "      - '.c2-" + std::to_string(i) + "-" + std::to_string(k) + ".example'\n";
        yaml += "  condition: sel\n";
        break;
      case 7:  // a placeholder list
        yaml +=
            "logsource: {product: zeek, service: dns}\ndetection:\n  sel:\n    query|expand: "
            "'*.%gen_list%'\n"
            "    id.orig_h: 10.77." +
            std::to_string(i % 250) + ".1\n  condition: sel\n";
        break;
      default: {  // cidr
        const int a = static_cast<int>(rng() % 200) + 20;
        yaml +=
            "logsource: {product: zeek, service: conn}\ndetection:\n  sel:\n    id.resp_h|cidr: '" +
            std::to_string(a) + "." + std::to_string(i % 256) + "." +
            std::to_string((i / 256) % 256) + ".0/24'\n  condition: sel\n";
      }
    }
  }
  (void)list_path;
  return yaml;
}

void BM_GeneratedRules(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string list = "/tmp/vigil-bench-list-" + std::to_string(::getpid()) + ".txt";
  {
    std::FILE* f = std::fopen(list.c_str(), "w");
    for (int i = 0; i < 200; ++i) std::fprintf(f, "listed%d.example\n", i);
    std::fclose(f);
  }
  LoadOptions o;
  o.sources.push_back(SourceFile{"generated.yml", GeneratedRules(n, list)});
  o.lists = {{"gen_list", list}};
  auto r = LoadRuleSet(o);
  std::remove(list.c_str());
  if (!r.ok()) {
    for (const auto& d : r.diagnostics) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    std::abort();
  }
  Run(state, r.rule_set);
}
BENCHMARK(BM_GeneratedRules)->Arg(100)->Arg(1000)->Arg(10000);

}  // namespace

BENCHMARK_MAIN();
