#pragma once
// Value lists for `%name%` placeholders (`|expand`): one entry per line,
// `#` starts a comment, blank lines ignored. Loaded with the rules from the
// files the configuration names, so a list edit takes effect on the next
// reload. Immutable after loading: thread-safe to share.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "collector/engine/loader/diagnostic.h"

namespace vigil::collector::engine {

struct ListEntry {
  std::string text;
  int line = 0;
};

struct ValueList {
  std::string name;
  std::string path;
  std::vector<ListEntry> entries;
};

/// Parses a list file's bytes. Never fails: every line is either an entry,
/// a comment or blank; entries are checked where they are used (a bad CIDR
/// is reported at the list's file:line).
ValueList ParseValueList(std::string name, std::string path, std::string_view bytes);

class ListSet {
 public:
  void Add(ValueList list) { lists_[list.name] = std::move(list); }
  const ValueList* Find(std::string_view name) const {
    auto it = lists_.find(std::string(name));
    return it == lists_.end() ? nullptr : &it->second;
  }
  const std::map<std::string, ValueList>& all() const { return lists_; }

 private:
  std::map<std::string, ValueList> lists_;
};

}  // namespace vigil::collector::engine
