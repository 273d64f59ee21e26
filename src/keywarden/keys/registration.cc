#include "keywarden/keys/registration.h"

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"

namespace keywarden::keys {

namespace {

constexpr std::string_view kCrnField = "resourceCrn";
constexpr std::string_view kQueryField = "urlEncodedResourceCRNQuery";

absl::Status CrnError(std::string_view what) {
  return FieldError(Reason::kBadBody, {kCrnField, FieldKind::kQuery}, what);
}

absl::Status QueryError(std::string_view what) {
  return FieldError(Reason::kBadBody, {kQueryField, FieldKind::kQuery}, what);
}

// Spaces and control characters never occur in a CRN; refusing them keeps
// look-alike values (a trailing newline, a NUL) out of stored records.
bool HasForbiddenByte(std::string_view text) {
  for (unsigned char c : text) {
    if (c <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

// `text` split on every ':' (empty segments kept).
std::vector<std::string_view> Segments(std::string_view text) {
  std::vector<std::string_view> out;
  while (true) {
    size_t colon = text.find(':');
    out.push_back(text.substr(0, colon));
    if (colon == std::string_view::npos) return out;
    text.remove_prefix(colon + 1);
  }
}

// Segments 2..7 (cname .. service-instance) must name something.
constexpr size_t kFirstOptionalSegment = 8;

}  // namespace

absl::Status ValidateRegistrationCrn(std::string_view crn) {
  constexpr std::string_view kShape =
      "a CRN crn:v1:<cname>:<ctype>:<service>:<location>:<scope>:"
      "<service-instance>:<resource-type>:<resource> of at most 512 bytes, "
      "without '*', spaces or control characters, naming at least the "
      "service instance";
  if (crn.empty() || crn.size() > kMaxCrnLength || HasForbiddenByte(crn) ||
      crn.find('*') != std::string_view::npos) {
    return CrnError(kShape);
  }
  std::vector<std::string_view> segments = Segments(crn);
  if (segments.size() != kCrnSegments || segments[0] != "crn" ||
      segments[1] != "v1") {
    return CrnError(kShape);
  }
  for (size_t i = 2; i < kFirstOptionalSegment; ++i) {
    if (segments[i].empty()) return CrnError(kShape);
  }
  return absl::OkStatus();
}

// A pattern segment is `*` (any value) or a literal without '*'; only the
// last may end in '*' after a literal prefix. Segments 0 and 1 are "crn"
// and "v1" or `*`, so that a typo does not silently match nothing.
absl::StatusOr<CrnPattern> CrnPattern::Parse(std::string_view text,
                                             bool for_all_keys) {
  constexpr std::string_view kShape =
      "a CRN of ten ':'-separated segments where a whole segment may be '*' "
      "and the last may end in '*'";
  if (text.empty() || text.size() > kMaxCrnLength || HasForbiddenByte(text)) {
    return QueryError(kShape);
  }
  std::vector<std::string_view> segments = Segments(text);
  if (segments.size() != kCrnSegments) return QueryError(kShape);
  CrnPattern pattern;
  pattern.text_ = std::string(text);
  for (size_t i = 0; i < kCrnSegments; ++i) {
    std::string_view s = segments[i];
    const size_t star = s.find('*');
    if (star != std::string_view::npos) {
      if (for_all_keys && i < kFirstOptionalSegment) {
        return QueryError(
            "a CRN without '*' in its first eight segments (querying the "
            "registrations of all keys)");
      }
      const bool whole = s == "*";
      const bool prefix = i + 1 == kCrnSegments && star + 1 == s.size();
      if (!whole && !prefix) return QueryError(kShape);
      if (!whole) {
        pattern.last_is_prefix_ = true;
        s.remove_suffix(1);
      }
    }
    if (i == 0 && s != "crn" && s != "*") return QueryError(kShape);
    if (i == 1 && s != "v1" && s != "*") return QueryError(kShape);
    pattern.segments_[i] = std::string(s);
  }
  return pattern;
}

bool CrnPattern::Matches(std::string_view crn) const {
  std::vector<std::string_view> segments = Segments(crn);
  if (segments.size() != kCrnSegments) return false;
  for (size_t i = 0; i < kCrnSegments; ++i) {
    const std::string& want = segments_[i];
    if (i + 1 == kCrnSegments && last_is_prefix_) {
      if (!segments[i].starts_with(want)) return false;
    } else if (want != "*" && segments[i] != want) {
      return false;
    }
  }
  return true;
}

namespace {

struct EventTypeName {
  KeyEventType type;
  std::string_view name;
};

// Stable codes: stored in key_events.event_type and sent to webhooks.
constexpr std::array<EventTypeName, 6> kEventTypeNames = {{
    {KeyEventType::kRotate, "rotate"},
    {KeyEventType::kDisable, "disable"},
    {KeyEventType::kEnable, "enable"},
    {KeyEventType::kDelete, "delete"},
    {KeyEventType::kRestore, "restore"},
    {KeyEventType::kSync, "sync"},
}};

}  // namespace

std::string_view KeyEventTypeName(KeyEventType type) {
  for (const EventTypeName& e : kEventTypeNames) {
    if (e.type == type) return e.name;
  }
  return {};
}

std::optional<KeyEventType> KeyEventTypeFromName(std::string_view name) {
  for (const EventTypeName& e : kEventTypeNames) {
    if (e.name == name) return e.type;
  }
  return std::nullopt;
}

}  // namespace keywarden::keys
