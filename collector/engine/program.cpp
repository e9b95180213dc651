#include "collector/engine/program.h"

#include <algorithm>

namespace vigil::collector::engine {

uint32_t Program::AddItem(CompiledItem item) {
  items_.push_back(std::move(item));
  ProgramNode n;
  n.kind = ProgramNode::Kind::kItem;
  n.item = static_cast<uint32_t>(items_.size() - 1);
  nodes_.push_back(n);
  return static_cast<uint32_t>(nodes_.size() - 1);
}

uint32_t Program::AddNode(ProgramNode::Kind kind, const std::vector<uint32_t>& children) {
  ProgramNode n;
  n.kind = kind;
  n.first = static_cast<uint32_t>(kids_.size());
  n.count = static_cast<uint32_t>(children.size());
  kids_.insert(kids_.end(), children.begin(), children.end());
  nodes_.push_back(n);
  return static_cast<uint32_t>(nodes_.size() - 1);
}

bool Program::Eval(uint32_t index, FieldView& view) const {
  const ProgramNode& n = nodes_[index];
  switch (n.kind) {
    case ProgramNode::Kind::kItem:
      return EvaluateItem(items_[n.item], view);
    case ProgramNode::Kind::kNot:
      return !Eval(kids_[n.first], view);
    case ProgramNode::Kind::kAnd:
      for (uint32_t i = 0; i < n.count; ++i) {
        if (!Eval(kids_[n.first + i], view)) return false;
      }
      return true;
    case ProgramNode::Kind::kOr:
      for (uint32_t i = 0; i < n.count; ++i) {
        if (Eval(kids_[n.first + i], view)) return true;
      }
      return false;
  }
  return false;
}

void Program::CollectMatched(FieldView& view, std::vector<MatchedField>& out) const {
  if (!nodes_.empty()) Collect(root_, view, out);
}

void Program::Collect(uint32_t index, FieldView& view, std::vector<MatchedField>& out) const {
  const ProgramNode& n = nodes_[index];
  switch (n.kind) {
    case ProgramNode::Kind::kItem: {
      const CompiledItem& item = items_[n.item];
      if (item.keyword || item.negate || item.never || item.field.kind == FieldRef::Kind::kNone)
        return;
      if (!EvaluateItem(item, view)) return;
      const Value& v = view.Get(item.field);
      if (!v.present()) return;
      const bool seen = std::any_of(out.begin(), out.end(), [&](const MatchedField& f) {
        return f.name == item.event_field;
      });
      if (!seen) out.push_back(MatchedField{item.event_field, v.Text()});
      return;
    }
    case ProgramNode::Kind::kNot:
      return;  // what did not match explains nothing
    case ProgramNode::Kind::kAnd:
      for (uint32_t i = 0; i < n.count; ++i) Collect(kids_[n.first + i], view, out);
      return;
    case ProgramNode::Kind::kOr:
      for (uint32_t i = 0; i < n.count; ++i) {
        if (Eval(kids_[n.first + i], view)) {
          Collect(kids_[n.first + i], view, out);
          return;
        }
      }
      return;
  }
}

}  // namespace vigil::collector::engine
