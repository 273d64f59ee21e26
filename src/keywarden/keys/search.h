#ifndef KEYWARDEN_KEYS_SEARCH_H_
#define KEYWARDEN_KEYS_SEARCH_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/keys/key.h"

// The `search` and `filter` parameters of GET /keys (keyprotect-api.md
// §3.3): their grammars, parsed into typed values, and the predicates that
// decide whether a key matches. Stores translate the same values into their
// query language; the predicates here are the reference semantics (the
// memory store uses them, and the store conformance suite checks SQLite
// against them).
namespace keywarden::keys {

// search: a term matched against a key's name and aliases, ASCII
// case-insensitively. Prefix modifiers, combinable in any order, each
// ending in ':' — `not:` inverts the match, `exact:` matches whole values
// instead of substrings, `name:` / `alias:` choose the fields (both when
// neither is given; several scopes mean any of them), and `escape:` ends
// the modifiers so the rest is the literal term (`escape:not:x` searches
// for "not:x"). One trailing comma is dropped (the Go client appends one).
struct KeySearch {
  std::string query;  // the parameter as given (minus that comma)
  std::string term;   // what is matched, non-empty
  bool negate = false;
  bool exact = false;
  bool in_name = true;
  bool in_aliases = true;
  // The scopes as named in the query, in order ("name", "alias"); empty
  // when none was given. Echoed in metadata.searchQuery.
  std::vector<std::string> scopes;
};

inline constexpr size_t kMaxSearchLength = 256;

// BAD_BODY_ERR naming `search` for an empty term, an unknown scope, or more
// than kMaxSearchLength bytes.
absl::StatusOr<KeySearch> ParseSearch(std::string_view text);

// Whether `key` (its name and aliases) matches. `negate` applies last.
bool SearchMatches(const KeySearch& search, const Key& key);

// filter: space-separated clauses `prop=value` or `prop=op:value`.
enum class DateField {
  kCreationDate,
  kDeletionDate,
  kExpirationDate,
  kLastRotateDate,
  kLastUpdateDate,
};
enum class CompareOp { kEq, kLt, kLte, kGt, kGte };

// One date clause. `value` is nullopt for `none` (the property is absent;
// only with kEq). Dates compare at whole seconds, the precision keys are
// shown with: a key's date is truncated to its second, then compared with
// `value`.
struct TimeClause {
  DateField field = DateField::kCreationDate;
  CompareOp op = CompareOp::kEq;
  std::optional<absl::Time> value;
};

struct KeyFilter {
  std::vector<TimeClause> time_clauses;  // all must hold
  std::vector<KeyState> states;          // empty: not filtered by state
  std::optional<bool> extractable;
};

inline constexpr size_t kMaxClausesPerProperty = 3;
inline constexpr size_t kMaxFilterLength = 1024;

// Grammar: dates as RFC 3339 in double quotes or `none`; `extractable=` true
// or false in any case; `state=` a comma list from 0,1,2,3,5. At most
// kMaxClausesPerProperty clauses per date property and one each of state
// and extractable. BAD_BODY_ERR naming `filter` otherwise.
absl::StatusOr<KeyFilter> ParseFilter(std::string_view text);

// The date of `key` a clause reads, or nullopt when the key has none.
std::optional<absl::Time> DateOf(const Key& key, DateField field);

// Whether every clause holds for `key`.
bool ClausesMatch(const std::vector<TimeClause>& clauses, const Key& key);

}  // namespace keywarden::keys

#endif  // KEYWARDEN_KEYS_SEARCH_H_
