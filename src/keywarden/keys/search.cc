#include "keywarden/keys/search.h"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::keys {

namespace {

// ASCII-only lower case: SQLite's built-in lower() (no ICU) folds exactly
// these 26 letters, so the SQL translation of a search agrees byte for byte.
std::string Lower(std::string_view s) {
  return absl::AsciiStrToLower(AbslView(s));
}

absl::Status SearchError(std::string_view what) {
  return FieldError(Reason::kBadBody, {"search", FieldKind::kQuery}, what);
}

absl::Status FilterError(std::string_view what) {
  return FieldError(Reason::kBadBody, {"filter", FieldKind::kQuery}, what);
}

bool IsAsciiLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// The modifier word at the start of `text` (the ASCII letters before a
// ':'), or empty when `text` does not start with one.
std::string_view LeadingModifier(std::string_view text) {
  size_t n = 0;
  while (n < text.size() && IsAsciiLetter(text[n])) ++n;
  if (n == 0 || n == text.size() || text[n] != ':') return {};
  return text.substr(0, n);
}

}  // namespace

// Modifiers are words of ASCII letters ending in ':' at the front of the
// parameter, matched ASCII-case-insensitively like the term. A leading word
// of letters and ':' that is none of them is an unknown scope (e.g.
// `nmae:x`, `tag:x`); a term that really starts so is written after
// `escape:`. Repeating a modifier changes nothing.
absl::StatusOr<KeySearch> ParseSearch(std::string_view text) {
  if (text.ends_with(',')) text.remove_suffix(1);
  if (text.size() > kMaxSearchLength) {
    return SearchError(StrCat("at most ", kMaxSearchLength, " bytes long"));
  }
  KeySearch search;
  search.query = std::string(text);
  std::string_view rest = text;
  while (true) {
    std::string_view word = LeadingModifier(rest);
    if (word.empty()) break;
    const std::string modifier = Lower(word);
    rest.remove_prefix(word.size() + 1);
    if (modifier == "escape") break;
    if (modifier == "not") {
      search.negate = true;
    } else if (modifier == "exact") {
      search.exact = true;
    } else if (modifier == "name" || modifier == "alias") {
      if (std::find(search.scopes.begin(), search.scopes.end(), modifier) ==
          search.scopes.end()) {
        search.scopes.push_back(modifier);
      }
    } else {
      return SearchError(
          "a term after optional modifiers not:, exact:, escape: and the "
          "scopes name: and alias: (unknown scope; write escape: before a "
          "term that contains ':')");
    }
  }
  if (rest.empty()) return SearchError("a non-empty search term");
  search.term = std::string(rest);
  if (!search.scopes.empty()) {
    auto has = [&](std::string_view s) {
      return std::find(search.scopes.begin(), search.scopes.end(), s) !=
             search.scopes.end();
    };
    search.in_name = has("name");
    search.in_aliases = has("alias");
  }
  return search;
}

bool SearchMatches(const KeySearch& search, const Key& key) {
  const std::string term = Lower(search.term);
  auto matches = [&](std::string_view value) {
    const std::string v = Lower(value);
    return search.exact ? v == term : v.find(term) != std::string::npos;
  };
  bool found = search.in_name && matches(key.name);
  if (!found && search.in_aliases) {
    found = std::any_of(key.aliases.begin(), key.aliases.end(), matches);
  }
  return found != search.negate;
}

namespace {

struct DateProperty {
  std::string_view name;
  DateField field;
};

constexpr std::array<DateProperty, 5> kDateProperties = {{
    {"creationDate", DateField::kCreationDate},
    {"deletionDate", DateField::kDeletionDate},
    {"expirationDate", DateField::kExpirationDate},
    {"lastRotateDate", DateField::kLastRotateDate},
    {"lastUpdateDate", DateField::kLastUpdateDate},
}};

absl::StatusOr<TimeClause> ParseDateClause(DateField field,
                                           std::string_view prop,
                                           std::string_view value) {
  TimeClause clause;
  clause.field = field;
  if (value == "none") return clause;  // eq, absent
  if (size_t colon = value.find(':');
      colon != std::string_view::npos && !value.starts_with('"')) {
    std::string_view op = value.substr(0, colon);
    if (op == "lt") {
      clause.op = CompareOp::kLt;
    } else if (op == "lte") {
      clause.op = CompareOp::kLte;
    } else if (op == "gt") {
      clause.op = CompareOp::kGt;
    } else if (op == "gte") {
      clause.op = CompareOp::kGte;
    } else {
      return FilterError(StrCat("`", prop,
                                "=` followed by an operator lt:, lte:, gt: or "
                                "gte: and a date, a date, or none"));
    }
    value.remove_prefix(colon + 1);
  }
  if (value.size() < 2 || !value.starts_with('"') || !value.ends_with('"')) {
    return FilterError(StrCat(
        "`", prop,
        "=` followed by an RFC 3339 date in double quotes (optionally after "
        "lt:, lte:, gt: or gte:), or none without an operator"));
  }
  value = value.substr(1, value.size() - 2);
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, AbslView(value), &t, &err)) {
    return FilterError(
        StrCat("`", prop, "=` followed by an RFC 3339 date in double quotes"));
  }
  clause.value = t;
  return clause;
}

absl::StatusOr<std::vector<KeyState>> ParseStates(std::string_view value) {
  std::vector<KeyState> states;
  while (true) {
    size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    std::optional<KeyState> state;
    if (item.size() == 1 && item[0] >= '0' && item[0] <= '9') {
      state = KeyStateFromInt(item[0] - '0');
    }
    if (!state.has_value()) {
      return FilterError(
          "`state=` followed by a comma-separated list of 0, 1, 2, 3 and 5");
    }
    if (std::find(states.begin(), states.end(), *state) == states.end()) {
      states.push_back(*state);
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return states;
}

}  // namespace

// Clauses are separated by runs of spaces (leading and trailing spaces are
// ignored); a clause is `prop=value`. Property names are case-sensitive,
// as Key Protect spells them; `none` is lower case.
absl::StatusOr<KeyFilter> ParseFilter(std::string_view text) {
  if (text.size() > kMaxFilterLength) {
    return FilterError(StrCat("at most ", kMaxFilterLength, " bytes long"));
  }
  KeyFilter filter;
  std::array<size_t, kDateProperties.size()> per_date{};
  bool have_state = false;
  size_t clauses = 0;
  while (true) {
    size_t start = text.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    size_t end = text.find(' ');
    std::string_view clause = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end);
    ++clauses;

    size_t eq = clause.find('=');
    if (eq == std::string_view::npos || eq + 1 == clause.size()) {
      return FilterError("space-separated clauses of the form property=value");
    }
    std::string_view prop = clause.substr(0, eq);
    std::string_view value = clause.substr(eq + 1);
    if (prop == "state") {
      if (have_state) return FilterError("at most one `state` clause");
      have_state = true;
      KW_ASSIGN_OR_RETURN(filter.states, ParseStates(value));
      continue;
    }
    if (prop == "extractable") {
      if (filter.extractable.has_value()) {
        return FilterError("at most one `extractable` clause");
      }
      std::string v = Lower(value);
      if (v != "true" && v != "false") {
        return FilterError("`extractable=` followed by true or false");
      }
      filter.extractable = v == "true";
      continue;
    }
    auto date =
        std::find_if(kDateProperties.begin(), kDateProperties.end(),
                     [&](const DateProperty& p) { return p.name == prop; });
    if (date == kDateProperties.end()) {
      return FilterError(
          "clauses on creationDate, deletionDate, expirationDate, "
          "lastRotateDate, lastUpdateDate, extractable or state");
    }
    size_t& n = per_date[date - kDateProperties.begin()];
    if (++n > kMaxClausesPerProperty) {
      return FilterError(StrCat("at most ", kMaxClausesPerProperty,
                                " clauses on `", prop, "`"));
    }
    KW_ASSIGN_OR_RETURN(TimeClause tc,
                        ParseDateClause(date->field, prop, value));
    filter.time_clauses.push_back(tc);
  }
  if (clauses == 0) {
    return FilterError("at least one clause of the form property=value");
  }
  return filter;
}

std::optional<absl::Time> DateOf(const Key& key, DateField field) {
  switch (field) {
    case DateField::kCreationDate:
      return key.creation_time;
    case DateField::kDeletionDate:
      return key.deletion_time;
    case DateField::kExpirationDate:
      return key.expiration_time;
    case DateField::kLastRotateDate:
      return key.last_rotate_time;
    case DateField::kLastUpdateDate:
      return key.last_update_time;
  }
  return std::nullopt;
}

bool ClausesMatch(const std::vector<TimeClause>& clauses, const Key& key) {
  for (const TimeClause& c : clauses) {
    std::optional<absl::Time> date = DateOf(key, c.field);
    if (!c.value.has_value() || !date.has_value()) {
      // `none` holds exactly for an absent date; a dated clause never holds
      // for one.
      if (c.value.has_value() != date.has_value()) return false;
      continue;
    }
    // Whole seconds, toward the past (ToUnixSeconds floors), the precision
    // keys are shown with.
    const absl::Time d = absl::FromUnixSeconds(absl::ToUnixSeconds(*date));
    const absl::Time v = *c.value;
    bool holds = false;
    switch (c.op) {
      case CompareOp::kEq:
        holds = d == v;
        break;
      case CompareOp::kLt:
        holds = d < v;
        break;
      case CompareOp::kLte:
        holds = d <= v;
        break;
      case CompareOp::kGt:
        holds = d > v;
        break;
      case CompareOp::kGte:
        holds = d >= v;
        break;
    }
    if (!holds) return false;
  }
  return true;
}

}  // namespace keywarden::keys
