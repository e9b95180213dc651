#include "collector/metrics/label_value.h"

#include <gtest/gtest.h>

#include "collector/metrics/atomic_histogram.h"

namespace vigil::collector::metrics {
namespace {

TEST(LabelValue, ValidUtf8PassesUnchanged) {
  for (const std::string s : {"", "Finance", "Sở Tài chính", "日本語", "emoji \xF0\x9F\x94\x92",
                              "quote\" and \\ and \n newline"}) {
    EXPECT_TRUE(IsValidUtf8(s)) << s;
    EXPECT_EQ(SanitizeLabelValue(s), s);
  }
}

TEST(LabelValue, InvalidSequencesBecomeReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(SanitizeLabelValue("a\xFF"
                               "b"),
            "a" + fffd + "b");
  EXPECT_EQ(SanitizeLabelValue("\xC0\x80"), fffd + fffd);                        // overlong NUL
  EXPECT_EQ(SanitizeLabelValue("\xED\xA0\x80"), fffd + fffd + fffd);             // surrogate
  EXPECT_EQ(SanitizeLabelValue("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // > U+10FFFF
  EXPECT_EQ(SanitizeLabelValue("end\xE6\x97"), "end" + fffd + fffd);  // truncated sequence
  EXPECT_FALSE(IsValidUtf8("\xE6\x97"));
  EXPECT_TRUE(IsValidUtf8(SanitizeLabelValue("\xE6\x97\xFF\xC3")));
}

TEST(LabelValue, LongValuesAreCutAtACharacterBoundary) {
  std::string s;
  for (int i = 0; i < 200; ++i) s += "\xC3\xA9";  // é, 2 bytes each
  const std::string out = SanitizeLabelValue(s);
  EXPECT_LE(out.size(), kMaxLabelValueBytes);
  EXPECT_EQ(out.size() % 2, 0u);
  EXPECT_TRUE(IsValidUtf8(out));
}

TEST(AtomicHistogram, BucketsAreLessOrEqualAndCumulative) {
  AtomicHistogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 1.0, 5.0, 50.0, 100.0}) h.Observe(v);
  const auto s = h.Snapshot();
  EXPECT_EQ(s.cumulative_counts, (std::vector<uint64_t>{2, 4, 5, 7}));
  EXPECT_EQ(s.count, 7u);
  EXPECT_DOUBLE_EQ(s.sum, 0.05 + 0.1 + 0.5 + 1.0 + 5.0 + 50.0 + 100.0);
}

TEST(AtomicHistogramDeathTest, UnorderedBoundsAbort) {
  EXPECT_DEATH(AtomicHistogram({1, 0.5}), "ascending");
}

}  // namespace
}  // namespace vigil::collector::metrics
