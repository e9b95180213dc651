#include "collector/engine/event_proto.h"

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <vector>

#include "proto/vigil/v1/zeek/zeek_view.h"
#include "vigil/v1/records.pb.h"

namespace vigil::collector::engine {
namespace {

namespace zeek = vigil::v1::zeek;

LogType LogOf(zeek::ZeekLog log) {
  switch (log) {
    case zeek::ZeekLog::kConn:
      return LogType::kConn;
    case zeek::ZeekLog::kDns:
      return LogType::kDns;
    case zeek::ZeekLog::kSsl:
      return LogType::kSsl;
    case zeek::ZeekLog::kHttp:
      return LogType::kHttp;
  }
  std::abort();  // every ZeekLog has a LogType
}

// A count as the JSON reader yields it: an integer, or the nearest double
// past int64's range.
Value CountValue(uint64_t v) {
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Value::Double(static_cast<double>(v));
  }
  return Value::Int(static_cast<int64_t>(v));
}

// The ZeekFieldVisitor that fills an engine Event: each Zeek type becomes the
// Value the JSON adapter produces for the same field (docs/records.md), so
// both adapters yield equal Events.
class EventFiller {
 public:
  explicit EventFiller(Event& e)
      : e_(e), catalog_(FieldCatalog::Instance()), fields_(catalog_.Fields(e.log())) {}

  void String(std::string_view name, std::string_view v) {
    Put(name, Value::String(std::string(v)));
  }
  void Count(std::string_view name, uint64_t v) { Put(name, CountValue(v)); }
  void Int(std::string_view name, int64_t v) { Put(name, Value::Int(v)); }
  void Double(std::string_view name, double v) { Put(name, Value::Double(v)); }
  void Bool(std::string_view name, bool v) { Put(name, Value::Bool(v)); }
  void Time(std::string_view name, zeek::ZeekTime t) {
    if (name == "ts") {
      e_.set_time_ns(Nanos(t.micros));
      return;
    }
    Put(name, Value::Double(MicrosToSeconds(t.micros)));
  }
  void Interval(std::string_view name, zeek::ZeekInterval d) {
    Put(name, Value::Double(MicrosToSeconds(d.micros)));
  }
  void Address(std::string_view name, const zeek::ZeekAddress& a) {
    Put(name, Value::String(std::string(a.text)));
  }
  void Port(std::string_view name, uint32_t port) { Put(name, CountValue(port)); }
  void StringVector(std::string_view name, const zeek::ZeekStringVector& items) {
    std::vector<Value> out;
    out.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) out.push_back(Value::String(std::string(items[i])));
    Put(name, Value::Array(std::move(out)));
  }
  void IntervalVector(std::string_view name, const zeek::ZeekIntervalVector& items) {
    std::vector<Value> out;
    out.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      out.push_back(Value::Double(MicrosToSeconds(items[i].micros)));
    }
    Put(name, Value::Array(std::move(out)));
  }

 private:
  static int64_t Nanos(int64_t micros) {
    int64_t ns;
    if (__builtin_mul_overflow(micros, int64_t{1000}, &ns)) {
      return micros < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
    }
    return ns;
  }

  void Put(std::string_view name, Value v) {
    // The view walks Zeek's column order, which is the catalog's slot order:
    // look ahead from the last slot filled before falling back to a lookup.
    for (size_t i = next_; i < fields_.size(); ++i) {
      if (fields_[i].name == name) {
        e_.Mutable(static_cast<uint16_t>(i)) = std::move(v);
        next_ = i + 1;
        return;
      }
    }
    if (auto slot = catalog_.Slot(e_.log(), name)) {
      e_.Mutable(*slot) = std::move(v);
      return;
    }
    // A field the catalog does not know yet: kept (as extras), like the
    // JSON adapter keeps unknown keys, so nothing is lost.
    e_.Set(name, std::move(v));
  }

  Event& e_;
  const FieldCatalog& catalog_;
  std::span<const FieldDef> fields_;
  size_t next_ = 0;
};

}  // namespace

std::expected<Event, AdapterError> EventFromProto(const vigil::v1::Event& record,
                                                  const EventOrigin& origin) {
  auto view = zeek::ZeekView::Of(record);
  if (!view) {
    return std::unexpected(AdapterError{std::string(zeek::ZeekViewErrorCode(view.error())),
                                        std::string(zeek::ZeekViewErrorMessage(view.error())), 0});
  }
  Event e(LogOf(view->log()));
  EventFiller filler(e);
  view->Visit(filler);
  e.RefreshAddresses();
  e.SetOrigin(origin);
  return e;
}

}  // namespace vigil::collector::engine
