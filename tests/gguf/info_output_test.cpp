// `aded info` and error messages print names and strings from the file: control characters,
// bidirectional overrides and invalid UTF-8 are escaped, so a file cannot drive the terminal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/printable_text.h"
#include "gguf/tiny_model.h"
#include "support/test_support.h"

namespace aded {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(PrintableText, EscapesWhatATerminalActsOn) {
  EXPECT_EQ(printable_text("plain text, caf\xC3\xA9 \xE2\x96\x81 \xF0\x9F\x98\x80"),
            "plain text, caf\xC3\xA9 \xE2\x96\x81 \xF0\x9F\x98\x80");
  EXPECT_EQ(printable_text("\x1B]0;title\x07\x1B[2J"), "\\x1B]0;title\\x07\\x1B[2J");
  EXPECT_EQ(printable_text("a\nb\tc\rd\\e"), "a\\nb\\tc\\rd\\\\e");
  EXPECT_EQ(printable_text(std::string_view("x\0y\x7F", 4)), "x\\x00y\\x7F");
  EXPECT_EQ(printable_text("\xC2\x9B" "31m"), "\\u009B31m");                // C1 CSI as UTF-8
  EXPECT_EQ(printable_text("\x9B" "31m"), "\\x9B31m");                      // a raw C1 byte
  EXPECT_EQ(printable_text("abc\xE2\x80\xAE" "fed"), "abc\\u202Efed");      // right-to-left override
  EXPECT_EQ(printable_text("\xC0\x80 \xED\xA0\x80 \xF4\x90\x80\x80"),       // overlong, surrogate, > U+10FFFF
            "\\xC0\\x80 \\xED\\xA0\\x80 \\xF4\\x90\\x80\\x80");
  EXPECT_EQ(printable_text("\xE2\x96"), "\\xE2\\x96");                      // cut short
}

TEST(PrintableText, Utf8PrefixDoesNotCutASequence) {
  const std::string s = "ab\xE2\x96\x81" "c";
  EXPECT_EQ(utf8_prefix(s, 2), "ab");
  EXPECT_EQ(utf8_prefix(s, 3), "ab");
  EXPECT_EQ(utf8_prefix(s, 4), "ab");
  EXPECT_EQ(utf8_prefix(s, 5), "ab\xE2\x96\x81");
  EXPECT_EQ(utf8_prefix(s, 100), s);
}

TEST(InfoOutput, StringsKeysAndTensorNamesFromTheFileAreEscaped) {
  aded::testing::TempDir dir;
  aded::testing::TinyModel m;
  m.edit = [](GgufWriter& w) {
    w.set_string("general.name", "evil\x1B]0;pwned\x07\x1B[2J");
    w.set_string("general.\x1B[31mkey", "x");
    w.set_string_array("general.list", {"\x1B[5m", "ok"});
    w.set_string("general.long", std::string(79, 'a') + "\xE2\x96\x81\x1B[0m");
  };
  m.extra["\x1B[1mtensor"] = {{8}, 0.5f};
  const auto bytes = m.bytes();
  const auto path = dir / "evil.gguf";
  aded::testing::write_file(path, std::string(bytes.begin(), bytes.end()));
  const auto r = aded::testing::run_cli("info '" + path.string() + "'");
  EXPECT_THAT(r.out, Not(HasSubstr("\x1B")));
  EXPECT_THAT(r.err, Not(HasSubstr("\x1B")));
  EXPECT_THAT(r.out, HasSubstr("evil\\x1B]0;pwned\\x07\\x1B[2J"));
  EXPECT_THAT(r.out, HasSubstr("general.\\x1B[31mkey"));
  EXPECT_THAT(r.out, HasSubstr("\"\\x1B[5m\""));
  EXPECT_THAT(r.out, HasSubstr("\\x1B[1mtensor"));
  EXPECT_THAT(r.out, HasSubstr(std::string(79, 'a') + "...\""));  // cut before the 3-byte "▁"
  // The model's own check names the stray tensor in the error, escaped too.
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("'\\x1B[1mtensor'"));
}

}  // namespace
}  // namespace aded
