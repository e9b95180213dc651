#include "agent/flow/history.h"

namespace vigil::agent::flow {

void AddHistory(Flow& flow, char code) {
  if (flow.history_len < sizeof(flow.history)) {
    flow.history[flow.history_len++] = code;
  } else {
    flow.Ext().history_more.push_back(code);
  }
}

bool CheckHistory(Flow& flow, uint32_t mask, char code) {
  if ((flow.hist_seen & mask) == 0) {
    flow.hist_seen |= mask;
    AddHistory(flow, code);
    return false;
  }
  return true;
}

void ScaledHistory(Flow& flow, int side, ScaledCounter which, char code) {
  uint32_t& count = flow.Ext().scaled[side][which];
  ++count;
  uint32_t threshold = 1;
  while (threshold < count && threshold <= 0xFFFFFFFFu / 10) threshold *= 10;
  if (threshold == count) AddHistory(flow, code);
}

std::string HistoryString(const Flow& flow) {
  std::string h(flow.history, flow.history_len);
  if (flow.ext != nullptr) h += flow.ext->history_more;
  return h;
}

}  // namespace vigil::agent::flow
