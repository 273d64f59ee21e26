#ifndef KEYWARDEN_CLI_OUTPUT_H_
#define KEYWARDEN_CLI_OUTPUT_H_

#include <span>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "keywarden/client/errors.h"

namespace keywarden::cli {

// How a command prints what the server answered: `table` for people
// (aligned columns under a header row), `json` for scripts (the server's JSON
// for the resource, or the array of resources of a list, one line).
enum class OutputFormat { kTable, kJson };

// One table column: its header and the resource field it shows.
struct Column {
  std::string_view header;
  std::string_view field;
};

// Printable (client/errors.h) replaces control characters with '?', so that
// names chosen by other users cannot move the cursor or forge extra lines in
// a terminal.
using client::Printable;

// CellText is how one field reads in a table: strings as they are, numbers
// and booleans in JSON spelling, arrays joined with ",", and a missing, null
// or empty value as "-".
std::string CellText(const boost::json::value* v);

// FormatTable renders `rows` (JSON objects; other values give empty rows)
// under `columns`: every column as wide as its widest cell, two spaces
// between columns, no trailing blanks, one "\n"-terminated line per row.
std::string FormatTable(std::span<const Column> columns,
                        const boost::json::array& rows);

// FormatJson is `v` serialised compactly, keys in the server's order,
// followed by "\n".
std::string FormatJson(const boost::json::value& v);

}  // namespace keywarden::cli

#endif  // KEYWARDEN_CLI_OUTPUT_H_
