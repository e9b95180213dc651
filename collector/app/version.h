#pragma once
#include <string_view>

namespace vigil::collector::app {
inline constexpr std::string_view kVersion = "0.1.0";
}  // namespace vigil::collector::app
