// Fuzz target: request-target routing (api/http/router.h).
// Targets Router::Match over a table of the real route table's shape
// (http_api.cc kRoutes: literals beside captures, several methods per path),
// QueryParams::Parse and PercentDecode.
//
// Input: byte 0 picks the method, the rest is the request target.
//
// Properties (each checked with __builtin_trap()):
// - a match names a registered route, with as many params as its pattern
//   has captures, and every captured name is one of the pattern's;
// - a 405 lists the allowed methods, never the requested one;
// - PercentDecode never grows its input and never decodes "%00" to NUL;
// - percent-encoding every byte (but NUL) decodes back to the input;
// - QueryParams::Parse keeps at most kMaxParams pieces.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "keywarden/api/http/router.h"

namespace {

using keywarden::api::http::Method;
using keywarden::api::http::RouteMatch;
using keywarden::api::http::Router;

struct Row {
  Method method;
  std::string_view pattern;
  int captures;
};

// A subset of http_api.cc's kRoutes with the same shape; the index is the
// route id.
constexpr Row kRows[] = {
    {Method::kGet, "/healthz", 0},
    {Method::kPost, "/_test/clock/advance", 0},
    {Method::kGet, "/api/v2/keys", 0},
    {Method::kHead, "/api/v2/keys", 0},
    {Method::kPost, "/api/v2/keys", 0},
    {Method::kGet, "/api/v2/keys/{id}", 1},
    {Method::kDelete, "/api/v2/keys/{id}", 1},
    {Method::kPost, "/api/v2/keys/{id}", 1},
    {Method::kGet, "/api/v2/keys/{id}/metadata", 1},
    {Method::kPost, "/api/v2/keys/{id}/restore", 1},
    {Method::kGet, "/api/v2/keys/{id}/versions", 1},
    {Method::kPost, "/api/v2/keys/{id}/actions/{action}", 2},
    {Method::kGet, "/api/v2/keys/registrations", 0},
    {Method::kPost, "/identity/token", 0},
    {Method::kGet, "/admin/v1/principals", 0},
    {Method::kDelete, "/admin/v1/principals/{id}", 1},
    {Method::kPost, "/admin/v1/api_keys", 0},
    {Method::kGet, "/admin/v1/api_keys", 0},
    {Method::kDelete, "/admin/v1/api_keys/{id}", 1},
    {Method::kGet, "/admin/v1/audit", 0},
};
constexpr int kRowCount = sizeof(kRows) / sizeof(kRows[0]);

const Router& TheRouter() {
  static const Router* router = [] {
    auto* r = new Router();
    for (int i = 0; i < kRowCount; ++i) {
      if (!r->Add(kRows[i].method, kRows[i].pattern, i).ok()) __builtin_trap();
    }
    return r;
  }();
  return *router;
}

void CheckMatch(Method method, std::string_view target) {
  RouteMatch match = TheRouter().Match(method, target);
  switch (match.result) {
    case RouteMatch::Result::kMatched: {
      if (match.route_id < 0 || match.route_id >= kRowCount) __builtin_trap();
      const Row& row = kRows[match.route_id];
      if (row.method != method) __builtin_trap();
      if (match.params.size() != static_cast<size_t>(row.captures)) {
        __builtin_trap();
      }
      for (size_t i = 0; i < match.params.size(); ++i) {
        const std::string name = "{" + std::string(match.params[i].first) + "}";
        if (row.pattern.find(name) == std::string_view::npos) __builtin_trap();
      }
      if (match.query.size() > keywarden::api::http::QueryParams::kMaxParams) {
        __builtin_trap();
      }
      break;
    }
    case RouteMatch::Result::kMethodNotAllowed:
      if (match.allowed.empty() || match.AllowHeader().empty())
        __builtin_trap();
      for (Method m : match.allowed) {
        if (m == method) __builtin_trap();
      }
      break;
    case RouteMatch::Result::kNotFound:
    case RouteMatch::Result::kBadRequest:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Method method =
      static_cast<Method>(data[0] % keywarden::api::http::kMethodCount);
  const std::string_view target(reinterpret_cast<const char*>(data + 1),
                                size - 1);
  CheckMatch(method, target);

  // The same bytes as a query string.
  auto query = keywarden::api::http::QueryParams::Parse(target);
  if (query.ok() &&
      query->size() > keywarden::api::http::QueryParams::kMaxParams) {
    __builtin_trap();
  }

  auto decoded = keywarden::api::http::PercentDecode(target);
  if (decoded.ok() && (decoded->size() > target.size() ||
                       std::count(decoded->begin(), decoded->end(), '\0') !=
                           std::count(target.begin(), target.end(), '\0'))) {
    __builtin_trap();  // a raw NUL passes through; an escaped one is refused
  }

  // Round trip: escape every byte, decode, get the input back.
  if (target.find('\0') == std::string_view::npos) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string escaped;
    escaped.reserve(target.size() * 3);
    for (unsigned char c : target) {
      escaped += '%';
      escaped += kHex[c >> 4];
      escaped += kHex[c & 0xf];
    }
    auto back = keywarden::api::http::PercentDecode(escaped);
    if (!back.ok() || *back != target) __builtin_trap();
  }
  return 0;
}
