#pragma once
// Program: a compiled Sigma condition over compiled items, stored as a flat
// node array (selections shared when the condition names them twice).
// Evaluation short-circuits and allocates nothing. Immutable after the
// compiler builds it: thread-safe to share.

#include <cstdint>
#include <string>
#include <vector>

#include "collector/engine/alert.h"
#include "collector/engine/match/item.h"

namespace vigil::collector::engine {

struct ProgramNode {
  enum class Kind : uint8_t { kAnd, kOr, kNot, kItem };
  Kind kind = Kind::kItem;
  uint32_t first = 0;  ///< first child in Program::kids
  uint32_t count = 0;  ///< number of children
  uint32_t item = 0;   ///< for kItem
};

class Program {
 public:
  uint32_t AddItem(CompiledItem item);
  uint32_t AddNode(ProgramNode::Kind kind, const std::vector<uint32_t>& children);
  void set_root(uint32_t root) { root_ = root; }
  uint32_t root() const { return root_; }
  bool empty() const { return nodes_.empty(); }

  bool Evaluate(FieldView& view) const { return Eval(root_, view); }
  /// The fields of positive items that hold for this event (for alerts).
  void CollectMatched(FieldView& view, std::vector<MatchedField>& out) const;

  const std::vector<ProgramNode>& nodes() const { return nodes_; }
  const std::vector<uint32_t>& kids() const { return kids_; }
  const std::vector<CompiledItem>& items() const { return items_; }
  std::vector<CompiledItem>& mutable_items() { return items_; }

 private:
  bool Eval(uint32_t node, FieldView& view) const;
  void Collect(uint32_t node, FieldView& view, std::vector<MatchedField>& out) const;

  std::vector<ProgramNode> nodes_;
  std::vector<uint32_t> kids_;
  std::vector<CompiledItem> items_;
  uint32_t root_ = 0;
};

}  // namespace vigil::collector::engine
