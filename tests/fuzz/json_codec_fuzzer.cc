// Fuzz target: the HTTP API's JSON request decoders (api/http/json_codec.h),
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
//   the same instant.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/time/time.h"
#include "keywarden/api/http/json_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keywarden::api::http;
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
