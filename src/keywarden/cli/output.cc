#include "keywarden/cli/output.h"

#include <algorithm>
#include <vector>

#include <boost/json/serialize.hpp>

namespace keywarden::cli {
namespace json = boost::json;

std::string CellText(const json::value* v) {
  if (v == nullptr || v->is_null()) return "-";
  if (v->is_string()) {
    const json::string& s = v->get_string();
    if (s.empty()) return "-";
    return Printable(std::string_view(s.data(), s.size()));
  }
  if (v->is_array()) {
    std::string out;
    for (const json::value& e : v->get_array()) {
      if (!out.empty()) out.push_back(',');
      out += CellText(&e);
    }
    return out.empty() ? "-" : out;
  }
  return Printable(json::serialize(*v));
}

namespace {

// Display width: one column per UTF-8 code point (continuation bytes don't
// count). Wide and combining characters are rare enough in names to ignore.
size_t Width(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

}  // namespace

std::string FormatTable(std::span<const Column> columns,
                        const json::array& rows) {
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows.size() + 1);
  std::vector<std::string> header;
  for (const Column& c : columns) header.emplace_back(c.header);
  cells.push_back(std::move(header));
  for (const json::value& row : rows) {
    std::vector<std::string> line;
    const json::object* obj = row.if_object();
    for (const Column& c : columns) {
      line.push_back(CellText(obj == nullptr ? nullptr
                                             : obj->if_contains(c.field)));
    }
    cells.push_back(std::move(line));
  }
  std::vector<size_t> width(columns.size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) {
      width[i] = std::max(width[i], Width(line[i]));
    }
  }
  std::string out;
  for (const auto& line : cells) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      text += line[i];
      if (i + 1 < line.size()) text.append(width[i] - Width(line[i]) + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text;
    out.push_back('\n');
  }
  return out;
}

std::string FormatJson(const json::value& v) {
  std::string out = json::serialize(v);
  out.push_back('\n');
  return out;
}

}  // namespace keywarden::cli
