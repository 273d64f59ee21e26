// Fuzz target: the HTTP API's JSON request decoders (api/keyprotect/json_codec.h),
// the only place request bodies are read. Each input is fed, as a body, to
// every decoder: DecodeCreateKey, DecodeWrap, DecodeUnwrap, DecodeRotate,
// DecodeIgnoredBody, DecodeClockAdvance, DecodeCreatePrincipal,
// DecodeCreateApiKey, DecodeCreateInstance, DecodeCreatePolicy,
// DecodeCreateAuthorization, and the lifecycle decoders
// (DecodeCreateKey with policy overrides, DecodeCreateImportToken,
// DecodeKeyPolicies, DecodeInstancePolicies, DecodeRegistrationInput,
// DecodeDeactivateRegistrations, DecodeEventAcks, DecodeWebhook); and, as
// text, to ParseRfc3339.
//
// Properties (each checked with __builtin_trap()):
// - a body every decoder rejects as JSON is rejected by DecodeIgnoredBody
//   too, and vice versa: an accepted body of any decoder is JSON;
// - a time ParseRfc3339 accepts formats back to text it accepts again, as
//   the same instant;
// - member names are unique (RFC 7493 §2.3, in any case): an accepted body
//   holds no object with two names equal ignoring case, and the same body
//   with its first member repeated (in upper case) is BAD_BODY_ERR for
//   every decoder, naming the member;
// - a key create DecodeCreateKey accepts has one resource, and its
//   metadata's collectionType (if any) is the key media type and its
//   collectionTotal (if any) the integer 1.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "keywarden/api/keyprotect/json_codec.h"
#include "keywarden/common/errors.h"

namespace {

namespace json = boost::json;

// An independent reading of "unique names": Boost.JSON's own parser keeps
// one of each exact duplicate, so what it leaves can still be compared in
// any case.
bool HasCaseFoldedDuplicate(const json::value& v) {
  if (v.is_array()) {
    for (const json::value& item : v.get_array()) {
      if (HasCaseFoldedDuplicate(item)) return true;
    }
  }
  if (!v.is_object()) return false;
  const json::object& obj = v.get_object();
  for (auto i = obj.begin(); i != obj.end(); ++i) {
    for (auto j = obj.begin(); j != i; ++j) {
      if (absl::EqualsIgnoreCase(
              absl::string_view(i->key().data(), i->key().size()),
              absl::string_view(j->key().data(), j->key().size()))) {
        return true;
      }
    }
    if (HasCaseFoldedDuplicate(i->value())) return true;
  }
  return false;
}

// The member of `obj` named `name` in any case, as the codec finds it.
const json::value* FindAnyCase(const json::object& obj, std::string_view name) {
  for (const auto& kv : obj) {
    if (absl::EqualsIgnoreCase(
            absl::string_view(kv.key().data(), kv.key().size()),
            absl::string_view(name.data(), name.size()))) {
      return &kv.value();
    }
  }
  return nullptr;
}

// The envelope of an accepted create (keyprotect-api.md §1.3, §3.1).
bool CreateEnvelopeValid(const json::value& doc) {
  if (!doc.is_object()) return false;
  const json::value* resources = FindAnyCase(doc.get_object(), "resources");
  if (resources == nullptr || !resources->is_array() ||
      resources->get_array().size() != 1) {
    return false;
  }
  const json::value* metadata = FindAnyCase(doc.get_object(), "metadata");
  if (metadata == nullptr || !metadata->is_object()) return false;
  if (const json::value* type =
          FindAnyCase(metadata->get_object(), "collectionType")) {
    if (!type->is_string() ||
        !absl::EqualsIgnoreCase(absl::string_view(type->get_string().data(),
                                                  type->get_string().size()),
                                "application/vnd.ibm.kms.key+json")) {
      return false;
    }
  }
  if (const json::value* total =
          FindAnyCase(metadata->get_object(), "collectionTotal")) {
    if (!(total->is_int64() && total->get_int64() == 1) &&
        !(total->is_uint64() && total->get_uint64() == 1)) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keywarden::api::keyprotect;
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  const bool is_json_body = DecodeIgnoredBody(body).ok();
  bool any_ok = false;
  any_ok |= DecodeCreateKey(body).ok();
  any_ok |= DecodeWrap(body).ok();
  any_ok |= DecodeUnwrap(body).ok();
  any_ok |= DecodeRotate(body).ok();
  any_ok |= DecodeClockAdvance(body).ok();
  any_ok |= DecodeCreatePrincipal(body).ok();
  any_ok |= DecodeCreateApiKey(body).ok();
  any_ok |= DecodeCreateInstance(body).ok();
  any_ok |= DecodeCreatePolicy(body).ok();
  any_ok |= DecodeCreateAuthorization(body).ok();
  any_ok |= DecodeCreateKey(body, /*with_policy_overrides=*/true).ok();
  any_ok |= DecodeCreateImportToken(body).ok();
  any_ok |= DecodeKeyPolicies(body).ok();
  any_ok |= DecodeInstancePolicies(body).ok();
  any_ok |= DecodeRegistrationInput(body).ok();
  any_ok |= DecodeDeactivateRegistrations(body).ok();
  any_ok |= DecodeEventAcks(body).ok();
  any_ok |= DecodeWebhook(body).ok();
  if (any_ok && !is_json_body) __builtin_trap();

  if (is_json_body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (!ec && DecodeCreateKey(body).ok() && !CreateEnvelopeValid(v)) {
      __builtin_trap();
    }
    if (!ec) {
      if (HasCaseFoldedDuplicate(v)) __builtin_trap();
      if (v.is_object() && !v.get_object().empty()) {
        // The body again with its first member repeated at the end.
        json::object& obj = v.get_object();
        const json::string_view first = obj.begin()->key();
        const std::string name = absl::AsciiStrToUpper(
            absl::string_view(first.data(), first.size()));
        std::string twice = json::serialize(obj);
        twice.pop_back();
        twice += ",";
        twice += json::serialize(json::value(json::string(name)));
        twice += ":null}";
        // A number beyond double's range parses as an infinity, which
        // serialize() writes as `Infinity`: not JSON, so no duplicate test.
        json::error_code twice_ec;
        (void)json::parse(twice, twice_ec);
        if (twice_ec) return 0;
        const std::function<absl::Status(std::string_view)> decoders[] = {
            [](std::string_view b) { return DecodeCreateKey(b).status(); },
            [](std::string_view b) { return DecodeWrap(b).status(); },
            [](std::string_view b) { return DecodeUnwrap(b).status(); },
            DecodeIgnoredBody,
            [](std::string_view b) { return DecodeCreatePolicy(b).status(); },
            [](std::string_view b) {
              return DecodeInstancePolicies(b).status();
            },
            [](std::string_view b) { return DecodeWebhook(b).status(); },
        };
        for (const auto& decode : decoders) {
          const absl::Status s = decode(twice);
          if (keywarden::ReasonOf(s) != keywarden::Reason::kBadBody ||
              !keywarden::FieldOf(s).has_value()) {
            __builtin_trap();
          }
        }
      }
    }
  }

  absl::Time t;
  if (ParseRfc3339(body, &t)) {
    const std::string text = FormatRfc3339(t);
    absl::Time again;
    if (!ParseRfc3339(text, &again)) __builtin_trap();
    // FormatRfc3339 may drop sub-second digits; it never moves the second.
    if (absl::ToUnixSeconds(again) != absl::ToUnixSeconds(t)) __builtin_trap();
  }
  return 0;
}
