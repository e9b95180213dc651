#pragma once
// Value: one typed field value of a rule event (null, bool, integer, double,
// string, or an array of values), plus "absent" for a field the record does
// not carry. Plain value type, no shared state: safe to copy across threads.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::collector::engine {

class Value {
 public:
  enum class Kind : uint8_t { kAbsent, kNull, kBool, kInt, kDouble, kString, kArray };

  Value() = default;
  static Value Null();
  static Value Bool(bool v);
  static Value Int(int64_t v);
  static Value Double(double v);
  static Value String(std::string v);
  static Value Array(std::vector<Value> v);

  Kind kind() const { return kind_; }
  /// False only for a field the record does not carry. A JSON null is present.
  bool present() const { return kind_ != Kind::kAbsent; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kDouble; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }

  bool bool_value() const { return b_; }
  int64_t int_value() const { return i_; }
  double double_value() const { return d_; }
  /// Numeric value of an int or double (0 for anything else).
  double number() const;
  const std::string& string_value() const { return s_; }
  const std::vector<Value>& array() const { return a_; }
  std::vector<Value>& mutable_array() { return a_; }

  /// Appends the value's text form: strings as they are, numbers in their
  /// canonical decimal form ("22", "0.5"), booleans as "true"/"false", null
  /// as "null", arrays as a JSON array. Rule matching compares against this
  /// form whenever the rule value and the event value differ in type.
  void AppendText(std::string& out) const;
  std::string Text() const;
  /// Appends the value as JSON.
  void AppendJson(std::string& out) const;

  friend bool operator==(const Value& a, const Value& b);

 private:
  Kind kind_ = Kind::kAbsent;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<Value> a_;
};

/// Shortest text that reads back as the same double ("0.5", "1700000000.123456").
void AppendDouble(std::string& out, double v);
/// Appends `s` as a JSON string literal (quotes and escapes included).
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace vigil::collector::engine
