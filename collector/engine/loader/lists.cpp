#include "collector/engine/loader/lists.h"

namespace vigil::collector::engine {

ValueList ParseValueList(std::string name, std::string path, std::string_view bytes) {
  ValueList list{std::move(name), std::move(path), {}};
  int line_no = 0;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t end = bytes.find('\n', pos);
    if (end == std::string_view::npos) end = bytes.size();
    std::string_view line = bytes.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    // A comment is '#' at the start or after whitespace, so an entry may
    // still contain '#' (a URL fragment) when it is not preceded by a blank.
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
        line = line.substr(0, i);
        break;
      }
    }
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) continue;
    list.entries.push_back({std::string(line), line_no});
  }
  return list;
}

}  // namespace vigil::collector::engine
