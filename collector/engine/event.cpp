#include "collector/engine/event.h"

#include <arpa/inet.h>

#include <cmath>
#include <cstring>

namespace vigil::collector::engine {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[48];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress a;
  if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
    a.size = 4;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
    a.size = 16;
    return a;
  }
  return std::nullopt;
}

std::optional<IpAddress> IpAddress::FromBytes(std::string_view raw) {
  if (raw.size() != 4 && raw.size() != 16) return std::nullopt;
  IpAddress a;
  std::memcpy(a.bytes.data(), raw.data(), raw.size());
  a.size = static_cast<uint8_t>(raw.size());
  return a;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (size == 4) {
    inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
    return buf;
  }
  if (size == 16) {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
    return buf;
  }
  return {};
}

int64_t SecondsToNs(double seconds) {
  if (!std::isfinite(seconds)) return 0;
  // An int64 holds nanoseconds up to about 9.22e9 s (year 2262). A record
  // claiming more is nonsense but must not overflow: saturate, leaving room
  // for the window arithmetic done on event times (a year's span).
  constexpr double kLimit = 9.19e9;
  if (seconds > kLimit) seconds = kLimit;
  if (seconds < -kLimit) seconds = -kLimit;
  return std::llround(seconds * 1e6) * 1000;
}

double MicrosToSeconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }

Event::Event(LogType log) : log_(log), slots_(FieldCatalog::Instance().Fields(log).size()) {}

void Event::set_time_ns(int64_t ns) {
  time_ns_ = ns;
  slots_[kSlotTs] = Value::Double(MicrosToSeconds(ns / 1000));
}

void Event::Set(std::string_view name, Value value) {
  if (auto slot = FieldCatalog::Instance().Slot(log_, name)) {
    if (*slot == kSlotTs && value.is_number()) time_ns_ = SecondsToNs(value.number());
    slots_[*slot] = std::move(value);
    if (*slot == kSlotOrigH || *slot == kSlotRespH) RefreshAddresses();
    return;
  }
  for (auto& [k, v] : extras_) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  extras_.emplace_back(std::string(name), std::move(value));
}

const Value* Event::Find(std::string_view name) const {
  if (auto slot = FieldCatalog::Instance().Slot(log_, name)) {
    const Value& v = slots_[*slot];
    return v.present() ? &v : nullptr;
  }
  for (const auto& [k, v] : extras_) {
    if (k == name) return &v;
  }
  return nullptr;
}

void Event::SetOrigin(EventOrigin origin) {
  origin_ = std::move(origin);
  const auto& catalog = FieldCatalog::Instance();
  auto text_or_absent = [](const std::string& s) { return s.empty() ? Value() : Value::String(s); };
  slots_[catalog.AgentSlot(log_)] = text_or_absent(origin_.agent_id);
  slots_[catalog.AgencySlot(log_)] = text_or_absent(origin_.agency);
}

void Event::RefreshAddresses() {
  auto parse = [](const Value& v) {
    if (!v.is_string()) return IpAddress{};
    return IpAddress::Parse(v.string_value()).value_or(IpAddress{});
  };
  orig_addr_ = parse(slots_[kSlotOrigH]);
  resp_addr_ = parse(slots_[kSlotRespH]);
}

std::string Event::ToJson() const {
  std::string out;
  out.reserve(512);
  out += "{\"_path\":";
  AppendJsonString(out, LogTypeName(log_));
  auto fields = FieldCatalog::Instance().Fields(log_);
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].present()) continue;
    out += ',';
    AppendJsonString(out, fields[i].name);
    out += ':';
    slots_[i].AppendJson(out);
  }
  for (const auto& [k, v] : extras_) {
    out += ',';
    AppendJsonString(out, k);
    out += ':';
    v.AppendJson(out);
  }
  out += '}';
  return out;
}

bool operator==(const Event& a, const Event& b) {
  return a.log_ == b.log_ && a.time_ns_ == b.time_ns_ && a.slots_ == b.slots_ &&
         a.extras_ == b.extras_ && a.origin_.agent_id == b.origin_.agent_id &&
         a.origin_.agency == b.origin_.agency && a.origin_.sequence == b.origin_.sequence &&
         a.origin_.received_ns == b.origin_.received_ns &&
         a.origin_.capture_drop_ratio == b.origin_.capture_drop_ratio;
}

}  // namespace vigil::collector::engine
