// Fuzz target: the grammars of keys/ that read untrusted text — the
// `search` and `filter` parameters of GET /keys (keys/search.h) and
// registration CRNs and CRN queries (keys/registration.h).
//
// Properties (each checked with __builtin_trap()):
// - a parsed search has a non-empty term no longer than its input, and
//   negating it flips the match of any key;
// - a parsed filter has at most kMaxClausesPerProperty clauses per date
//   property, and `none` only with equality;
// - a CRN that ValidateRegistrationCrn accepts is matched by a pattern of
//   itself, for one key and for all keys.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>

#include "keywarden/keys/key.h"
#include "keywarden/keys/registration.h"
#include "keywarden/keys/search.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keywarden::keys;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto search = ParseSearch(text); search.ok()) {
    if (search->term.empty() || search->term.size() > text.size()) {
      __builtin_trap();
    }
    Key key;
    key.name = std::string(text.substr(0, 90));
    key.aliases = {search->term};
    KeySearch flipped = *search;
    flipped.negate = !flipped.negate;
    if (SearchMatches(*search, key) == SearchMatches(flipped, key)) {
      __builtin_trap();
    }
  }

  if (auto filter = ParseFilter(text); filter.ok()) {
    std::map<DateField, size_t> per_field;
    for (const TimeClause& c : filter->time_clauses) {
      if (++per_field[c.field] > kMaxClausesPerProperty) __builtin_trap();
      if (!c.value.has_value() && c.op != CompareOp::kEq) __builtin_trap();
    }
    Key key;
    (void)ClausesMatch(filter->time_clauses, key);
  }

  if (ValidateRegistrationCrn(text).ok()) {
    for (bool all_keys : {false, true}) {
      auto pattern = CrnPattern::Parse(text, all_keys);
      if (!pattern.ok() || !pattern->Matches(text)) __builtin_trap();
    }
  }
  (void)CrnPattern::Parse(text, false);
  return 0;
}
