#include "collector/engine/match/aho_corasick.h"

#include <algorithm>
#include <deque>

namespace vigil::collector::engine {

void AhoCorasick::Add(std::string folded, uint32_t id) {
  if (folded.empty()) return;
  patterns_.emplace_back(std::move(folded), id);
}

void AhoCorasick::Build() {
  // Alphabet compression: bytes that occur in no literal share class 0, so
  // the table is states x (distinct literal bytes + 1) instead of x 256.
  class_of_.fill(0);
  classes_ = 1;
  for (const auto& [p, id] : patterns_) {
    for (unsigned char c : p) {
      if (class_of_[c] == 0) class_of_[c] = static_cast<uint16_t>(classes_++);
    }
  }
  // The trie, in the transition table; -1 marks a missing edge for now.
  delta_.assign(classes_, -1);
  std::vector<std::vector<uint32_t>> own_outputs(1);
  std::vector<int32_t> depth(1, 0);
  for (const auto& [p, id] : patterns_) {
    int32_t state = 0;
    for (unsigned char c : p) {
      const size_t slot = static_cast<size_t>(state) * classes_ + class_of_[c];
      if (delta_[slot] < 0) {
        const auto next = static_cast<int32_t>(own_outputs.size());
        delta_[slot] = next;
        delta_.resize(delta_.size() + classes_, -1);
        own_outputs.emplace_back();
        depth.push_back(depth[static_cast<size_t>(state)] + 1);
      }
      state = delta_[slot];
    }
    own_outputs[static_cast<size_t>(state)].push_back(id);
  }
  const size_t states = own_outputs.size();
  // Failure links by BFS, completing the table into a DFA as we go.
  std::vector<int32_t> fail(states, 0);
  std::vector<int32_t> out_link(states, -1);  // nearest proper suffix state with outputs
  std::deque<int32_t> queue;
  for (size_t c = 0; c < classes_; ++c) {
    int32_t& next = delta_[c];
    if (next < 0) {
      next = 0;
    } else {
      queue.push_back(next);
    }
  }
  while (!queue.empty()) {
    const auto s = static_cast<size_t>(queue.front());
    queue.pop_front();
    const auto f = static_cast<size_t>(fail[s]);
    if (s != 0) out_link[s] = !own_outputs[f].empty() ? static_cast<int32_t>(f) : out_link[f];
    for (size_t c = 0; c < classes_; ++c) {
      const size_t slot = s * classes_ + c;
      const int32_t via_fail = delta_[f * classes_ + c];
      if (delta_[slot] < 0) {
        delta_[slot] = via_fail;
      } else {
        fail[static_cast<size_t>(delta_[slot])] = via_fail;
        queue.push_back(delta_[slot]);
      }
    }
  }
  // Output lists: a state's own ids followed by its output link's list
  // (shared tails keep memory linear). Shallower states first, so a link's
  // list exists before a deeper state points to it.
  std::vector<int32_t> by_depth(states);
  for (size_t s = 0; s < states; ++s) by_depth[s] = static_cast<int32_t>(s);
  std::stable_sort(by_depth.begin(), by_depth.end(), [&](int32_t a, int32_t b) {
    return depth[static_cast<size_t>(a)] < depth[static_cast<size_t>(b)];
  });
  out_head_.assign(states, -1);
  outs_.clear();
  for (int32_t s : by_depth) {
    const auto us = static_cast<size_t>(s);
    int32_t head = out_link[us] >= 0 ? out_head_[static_cast<size_t>(out_link[us])] : -1;
    for (auto it = own_outputs[us].rbegin(); it != own_outputs[us].rend(); ++it) {
      outs_.push_back({*it, head});
      head = static_cast<int32_t>(outs_.size() - 1);
    }
    out_head_[us] = head;
  }
}

bool AhoCorasick::Contains(std::string_view text) const {
  if (patterns_.empty()) return false;
  int32_t state = 0;
  for (char ch : text) {
    const uint16_t cls = class_of_[static_cast<unsigned char>(FoldCase(ch))];
    state = delta_[static_cast<size_t>(state) * classes_ + cls];
    if (out_head_[static_cast<size_t>(state)] >= 0) return true;
  }
  return false;
}

}  // namespace vigil::collector::engine
