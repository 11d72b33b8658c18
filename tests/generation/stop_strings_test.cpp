// StopStringMatcher: stop strings found across pieces, the text cut before the first, and the
// tail that could still become a stop string held back.
#include <gtest/gtest.h>

#include "generation/stop_strings.h"

namespace aded {
namespace {

TEST(StopStrings, FoundAcrossPiecesAndCutBeforeTheFirst) {
  StopStringMatcher m({"\n\n", "END"});
  EXPECT_FALSE(m.append("Hello"));
  EXPECT_EQ(m.final_length(), 5u);
  EXPECT_FALSE(m.append(" E"));
  EXPECT_EQ(m.text(), "Hello E");
  EXPECT_EQ(m.final_length(), 6u) << "'E' could begin END";
  EXPECT_FALSE(m.append("N"));
  EXPECT_EQ(m.final_length(), 6u) << "'EN' could begin END";
  EXPECT_FALSE(m.append("d"));
  EXPECT_EQ(m.final_length(), 9u) << "'ENd' cannot";
  EXPECT_TRUE(m.append(" x\n\nEND more"));
  EXPECT_EQ(m.text(), "Hello ENd x");
  EXPECT_EQ(m.final_length(), m.text().size());
}

TEST(StopStrings, TheLeftmostStopWinsAndEmptyOnesAreIgnored) {
  StopStringMatcher m({"cd", "b", ""});
  EXPECT_TRUE(m.append("abcd"));
  EXPECT_EQ(m.text(), "a");
  StopStringMatcher none({});
  EXPECT_FALSE(none.append("anything at all"));
  EXPECT_EQ(none.final_length(), 15u);
}

TEST(StopStrings, AStopSplitOverManyPieces) {
  StopStringMatcher m({"<|end|>"});
  std::string released;
  size_t at = 0;
  bool stopped = false;
  for (const char* piece : {"x <", "|", "en", "d", "|", ">tail"}) {
    stopped = m.append(piece);
    released += m.text().substr(at, m.final_length() - at);
    at = m.final_length();
    if (stopped) break;
  }
  EXPECT_TRUE(stopped);
  EXPECT_EQ(released, "x ");
  EXPECT_EQ(m.text(), "x ");
}

}  // namespace
}  // namespace aded
