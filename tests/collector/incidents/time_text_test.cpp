#include "collector/incidents/time_text.h"

#include <gtest/gtest.h>

namespace vigil::collector::incidents {
namespace {

constexpr int64_t kS = 1'000'000'000;

TEST(TimeText, FormatsUtcWithMicroseconds) {
  EXPECT_EQ(FormatRfc3339Utc(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Utc(1767225600 * kS + 123456789), "2026-01-01T00:00:00.123456Z");
  EXPECT_EQ(FormatRfc3339Utc(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339Utc(951782400 * kS), "2000-02-29T00:00:00.000000Z");
}

TEST(TimeText, ParsesRfc3339AndDates) {
  EXPECT_EQ(*ParseRfc3339("2026-01-01T00:00:00Z"), 1767225600 * kS);
  EXPECT_EQ(*ParseRfc3339("2026-01-01"), 1767225600 * kS);
  EXPECT_EQ(*ParseRfc3339("2026-01-01T07:00:00+07:00"), 1767225600 * kS);
  EXPECT_EQ(*ParseRfc3339("2025-12-31T19:30:00-04:30"), 1767225600 * kS);
  EXPECT_EQ(*ParseRfc3339("2026-01-01t00:00:00.5z"), 1767225600 * kS + kS / 2);
  EXPECT_EQ(*ParseRfc3339("2026-01-01T00:00:00.123456789123Z"), 1767225600 * kS + 123456789);
}

TEST(TimeText, RejectsBadTimesWithAReason) {
  for (const char* bad : {"", "2026", "2026-13-01", "2026-02-30", "2025-02-29",
                          "2026-01-01T24:00:00Z", "2026-01-01T00:00:00", "2026-01-01T00:00:00+7",
                          "2026-01-01T00:00:00Zjunk", "2026-01-01T00:00:00.Z", "yesterday"}) {
    auto r = ParseRfc3339(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("RFC 3339"), std::string::npos);
  }
}

TEST(TimeText, RoundTrips) {
  for (int64_t t : {int64_t{0}, 1767225600 * kS + 1000, 4102444800 * kS - 1000}) {
    EXPECT_EQ(*ParseRfc3339(FormatRfc3339Utc(t)), t);
  }
}

TEST(TimeText, Durations) {
  EXPECT_EQ(ParseDuration("90d")->count(), 90 * 86400);
  EXPECT_EQ(ParseDuration("1d12h")->count(), 36 * 3600);
  EXPECT_EQ(ParseDuration("2w")->count(), 14 * 86400);
  EXPECT_EQ(ParseDuration("45s")->count(), 45);
  for (const char* bad : {"", "90", "d", "5y", "-1d", "1.5h", "99999999999d"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(TimeText, DisplayZonesUseTheTzDatabase) {
  auto hcm = DisplayZone::Load("Asia/Ho_Chi_Minh");
  ASSERT_TRUE(hcm.has_value());
  EXPECT_EQ(hcm->Format(1767225600 * kS), "2026-01-01T07:00:00.000000+07:00");
  auto ny = DisplayZone::Load("America/New_York");
  ASSERT_TRUE(ny.has_value());
  EXPECT_EQ(ny->Format(1767225600 * kS), "2025-12-31T19:00:00.000000-05:00");
  EXPECT_EQ(ny->Format(1751328000 * kS), "2025-06-30T20:00:00.000000-04:00");  // DST
  auto utc = DisplayZone::Load("UTC");
  ASSERT_TRUE(utc.has_value());
  EXPECT_EQ(utc->Format(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_FALSE(DisplayZone::Load("Nowhere/City").has_value());
  EXPECT_FALSE(DisplayZone::Load("../etc/passwd").has_value());
  EXPECT_FALSE(DisplayZone::Load("/etc/localtime").has_value());
}

}  // namespace
}  // namespace vigil::collector::incidents

#include "collector/incidents/store_config.h"

namespace vigil::collector::incidents {
namespace {

TEST(StoreConfigValidation, ReportsEveryProblemAtOnce) {
  StoreConfig c;
  c.incident_window = std::chrono::seconds(0);
  c.checkpoint_every_records = 0;
  c.forwarding.enabled = true;
  c.forwarding.port = 0;
  c.forwarding.client_cert_file = "/nonexistent/cert.pem";
  c.forwarding.facility = 24;
  const auto problems = ValidateStoreConfig(c);
  std::vector<std::string> fields;
  for (const auto& p : problems) fields.push_back(p.field);
  EXPECT_EQ(fields,
            (std::vector<std::string>{"db_path", "incident_window", "checkpoint_every_records",
                                      "signing_key_path", "forwarding.host", "forwarding.port",
                                      "forwarding.ca_file", "forwarding.client_key_file",
                                      "forwarding.client_cert_file", "forwarding.facility"}));
}

TEST(StoreConfigValidation, DefaultsWithPathsAreValid) {
  StoreConfig c;
  c.db_path = "/var/lib/vigil/incidents.db";
  c.signing_key_path = "/etc/hostname";  // any existing file
  EXPECT_TRUE(ValidateStoreConfig(c).empty());
}

}  // namespace
}  // namespace vigil::collector::incidents
