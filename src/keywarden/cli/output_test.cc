#include "keywarden/cli/output.h"

#include <boost/json/parse.hpp>

#include "gtest/gtest.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

constexpr Column kColumns[] = {
    {"ID", "id"}, {"NAME", "name"}, {"ADMIN", "admin"}, {"ROLES", "roles"}};

TEST(FormatTableTest, AlignsColumnsUnderHeaderWithoutTrailingBlanks) {
  json::array rows = json::parse(R"([
      {"id":"user-1","name":"alice","admin":true,"roles":["Reader","Writer"]},
      {"id":"user-22","name":"bo","admin":false,"roles":[]}])")
                         .as_array();
  EXPECT_EQ(FormatTable(kColumns, rows),
            "ID       NAME   ADMIN  ROLES\n"
            "user-1   alice  true   Reader,Writer\n"
            "user-22  bo     false  -\n");
}

TEST(FormatTableTest, EmptyListPrintsHeaderOnly) {
  EXPECT_EQ(FormatTable(kColumns, json::array()), "ID  NAME  ADMIN  ROLES\n");
}

TEST(FormatTableTest, MissingNullAndEmptyFieldsShowDash) {
  json::array rows =
      json::parse(R"([{"id":"x","name":null,"admin":""}])").as_array();
  EXPECT_EQ(FormatTable(kColumns, rows),
            "ID  NAME  ADMIN  ROLES\n"
            "x   -     -      -\n");
}

TEST(FormatTableTest, MultibyteNamesAlignByCodePoint) {
  json::array rows =
      json::parse(R"([{"id":"1","name":"\u00e9t\u00e9"},{"id":"2","name":"abcd"}])")
          .as_array();
  constexpr Column kTwo[] = {{"NAME", "name"}, {"ID", "id"}};
  EXPECT_EQ(FormatTable(kTwo, rows),
            "NAME  ID\n"
            "\xc3\xa9t\xc3\xa9   1\n"
            "abcd  2\n");
}

TEST(FormatTableTest, ControlCharactersInValuesCannotForgeLines) {
  json::array rows = json::parse(
                         R"([{"id":"a\nuser-evil  root","name":"\u001b[31mred\u0085"}])")
                         .as_array();
  const std::string out = FormatTable(kColumns, rows);
  EXPECT_EQ(out,
            "ID                 NAME       ADMIN  ROLES\n"
            "a?user-evil  root  ?[31mred?  -      -\n");
}

TEST(FormatTableTest, NonObjectRowsGiveDashes) {
  json::array rows = json::parse(R"([1])").as_array();
  constexpr Column kOne[] = {{"ID", "id"}};
  EXPECT_EQ(FormatTable(kOne, rows), "ID\n-\n");
}

TEST(CellTextTest, NumbersAndBooleansInJsonSpelling) {
  json::value n = 12, b = false, s = "text";
  EXPECT_EQ(CellText(&n), "12");
  EXPECT_EQ(CellText(&b), "false");
  EXPECT_EQ(CellText(&s), "text");
  EXPECT_EQ(CellText(nullptr), "-");
}

TEST(FormatJsonTest, KeepsServerKeyOrderOnOneLine) {
  json::value v = json::parse(R"({"z":1, "a":[true,null], "m":"x"})");
  EXPECT_EQ(FormatJson(v), "{\"z\":1,\"a\":[true,null],\"m\":\"x\"}\n");
}

TEST(PrintableTest, KeepsUtf8ReplacesC0C1AndDel) {
  EXPECT_EQ(Printable("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(Printable("a\tb\x7f" "c\xc2\x9b" "d"), "a?b?c?d");
  EXPECT_EQ(Printable("\r\n"), "??");
}

}  // namespace
}  // namespace keywarden::cli
