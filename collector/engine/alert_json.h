#pragma once
// Renders an Alert as one JSON object (one line), the format `vigilctl rules
// test` prints and the collector can log. Pure function: thread-safe.

#include <string>

#include "collector/engine/alert.h"

namespace vigil::collector::engine {

std::string_view AlertKindName(AlertKind kind);  // "detection", "correlation", "suppressed"
std::string AlertToJson(const Alert& alert);

}  // namespace vigil::collector::engine
