#ifndef KEYWARDEN_COMMON_STRINGS_H_
#define KEYWARDEN_COMMON_STRINGS_H_

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace keywarden {

// Debian's Abseil is built with its own string_view class
// (ABSL_OPTION_USE_STD_STRING_VIEW 0), which does not convert to or from
// std::string_view. The project speaks std::string_view; these two adapters
// are the crossing points into Abseil's string functions.
inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view StdView(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

namespace strings_internal {
inline std::string_view Piece(std::string_view s) { return s; }
inline std::string_view Piece(const char* s) { return s; }
inline std::string_view Piece(const std::string& s) { return s; }
inline std::string_view Piece(absl::string_view s) { return StdView(s); }
template <typename T>
  requires(std::is_arithmetic_v<T> && !std::is_same_v<T, char> &&
           !std::is_same_v<T, bool>)
std::string Piece(T v) {
  return std::to_string(v);
}
}  // namespace strings_internal

// Concatenates strings (std or Abseil views) and numbers, like absl::StrCat
// but accepting std::string_view.
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (out.append(strings_internal::Piece(args)), ...);
  return out;
}

template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  (out->append(strings_internal::Piece(args)), ...);
}

}  // namespace keywarden

#endif  // KEYWARDEN_COMMON_STRINGS_H_
