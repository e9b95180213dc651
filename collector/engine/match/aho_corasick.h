#pragma once
// AhoCorasick: finds which of many literals occur in a string in one pass,
// ASCII-case-insensitively (literals are added folded). The engine uses it
// to pick candidate rules from substring literals and for items with many
// `contains` values. Build once, then Scan() is const and thread-safe.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collector/engine/match/string_pattern.h"

namespace vigil::collector::engine {

class AhoCorasick {
 public:
  /// `folded` must be lower-case ASCII (FoldCase) and non-empty.
  void Add(std::string folded, uint32_t id);
  void Build();
  bool empty() const { return patterns_.empty(); }
  size_t size() const { return patterns_.size(); }

  /// Calls on_match(id) for every occurrence end (ids may repeat).
  template <class F>
  void Scan(std::string_view text, F&& on_match) const {
    int32_t state = 0;
    for (char ch : text) {
      const uint16_t cls = class_of_[static_cast<unsigned char>(FoldCase(ch))];
      state = delta_[static_cast<size_t>(state) * classes_ + cls];
      for (int32_t o = out_head_[static_cast<size_t>(state)]; o >= 0;
           o = outs_[static_cast<size_t>(o)].next) {
        on_match(outs_[static_cast<size_t>(o)].id);
      }
    }
  }
  /// True as soon as any literal occurs.
  bool Contains(std::string_view text) const;

 private:
  struct Out {
    uint32_t id;
    int32_t next;
  };
  std::vector<std::pair<std::string, uint32_t>> patterns_;
  std::array<uint16_t, 256> class_of_{};
  size_t classes_ = 1;
  std::vector<int32_t> delta_;
  std::vector<int32_t> out_head_;
  std::vector<Out> outs_;
};

}  // namespace vigil::collector::engine
