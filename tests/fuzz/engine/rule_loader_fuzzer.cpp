// Fuzzes the whole rule loader (YAML reader, resolver, compiler, index) with
// one in-memory rule file, then evaluates a few events against whatever
// loaded: no input may crash, hang or throw out of LoadRuleSet().
#include <cstdint>
#include <string>
#include <vector>

#include "collector/engine/engine.h"
#include "collector/engine/event_json.h"
#include "collector/engine/loader/load.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::collector::engine;  // NOLINT
  if (size > 16384) return 0;
  LoadOptions o;
  o.public_suffix_file.clear();  // the built-in list: no file I/O per input
  o.sources.push_back(
      SourceFile{"fuzz.yml", std::string(reinterpret_cast<const char*>(data), size)});
  LoadResult r = LoadRuleSet(o);
  for (const auto& d : r.diagnostics) (void)d.ToString();
  if (!r.ok()) return 0;
  static const std::vector<Event> events = [] {
    std::vector<Event> out;
    for (
        const char* json :
        {R"({"_path":"conn","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":22,"proto":"tcp","conn_state":"SF","history":"ShADadFf"})",
         R"({"_path":"dns","ts":2,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"a.b.example.co.uk","answers":["1.2.3.4"],"Z":1})",
         R"({"_path":"ssl","ts":3,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":443,"server_name":"x.example","next_protocol":"h2"})",
         R"({"_path":"http","ts":4,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":80,"method":"GET","host":"x","uri":"/a.exe?x","username":"u"})"}) {
      out.push_back(*EventFromJson(json, {}));
    }
    return out;
  }();
  Engine engine;
  engine.Swap(r.rule_set);
  std::vector<Alert> alerts;
  for (int round = 0; round < 3; ++round) {
    for (const auto& e : events) engine.Evaluate(e, alerts);
  }
  engine.AdvanceTime(int64_t{1} << 62, alerts);
  return 0;
}
