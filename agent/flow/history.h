#pragma once
// Zeek's connection history string (internal to agent/flow): letters are
// upper case for the originator and lower case for the responder;
// CheckHistory records a letter the first time its mask is seen, and the
// scaled letters (c g t w) are repeated at 1, 10, 100, ... occurrences.
//
// Free functions over one Flow: not thread-safe (capture thread).

#include <cstdint>
#include <string>

#include "agent/flow/flow.h"

namespace vigil::agent::flow {

void AddHistory(Flow& flow, char code);
/// Records `code` the first time `mask` is seen; returns true if the mask had
/// been seen before (so callers can decide on repeats), as Zeek's
/// Connection::CheckHistory.
bool CheckHistory(Flow& flow, uint32_t mask, char code);
/// Counts one event of `which` for key side `side` and adds `code` when the
/// count reaches 1, 10, 100, ...
void ScaledHistory(Flow& flow, int side, ScaledCounter which, char code);
std::string HistoryString(const Flow& flow);

}  // namespace vigil::agent::flow
