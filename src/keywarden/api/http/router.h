#ifndef KEYWARDEN_API_HTTP_ROUTER_H_
#define KEYWARDEN_API_HTTP_ROUTER_H_

// A table-driven router for the HTTP API, independent of Beast: it sees only
// a method and a request target, so it is unit-tested (and fuzzable) without
// sockets, and handler code that routes does not pay Beast's compile cost.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keywarden::api::http {

// The HTTP methods the API routes on. Strings exist only at the edge
// (ParseMethod / MethodName).
enum class Method : uint8_t {
  kGet = 0,
  kHead,
  kPost,
  kPut,
  kPatch,
  kDelete,
  kOptions,
};
inline constexpr int kMethodCount = 7;

// Case-sensitive (RFC 9110 §9.1): "get" is not GET. nullopt for anything else.
std::optional<Method> ParseMethod(std::string_view name);
std::string_view MethodName(Method method);

// Decodes %XX escapes once. '+' stays a literal '+' (RFC 3986: it is only a
// space in HTML forms, and the Key Protect SDKs encode spaces as %20).
// InvalidArgument for a truncated or non-hex escape, or an escaped NUL.
absl::StatusOr<std::string> PercentDecode(std::string_view in);

// Parameters captured from `{name}` segments, in pattern order. Names point
// into the Router that produced them, so a PathParams must not outlive it.
class PathParams {
 public:
  // The decoded value of `name`, or nullopt if the route has no such param.
  std::optional<std::string_view> Get(std::string_view name) const;
  size_t size() const { return params_.size(); }
  const std::pair<std::string_view, std::string>& operator[](size_t i) const {
    return params_[i];
  }

  void Add(std::string_view name, std::string value) {
    params_.emplace_back(name, std::move(value));
  }
  void PopBack() { params_.pop_back(); }
  void Clear() { params_.clear(); }

 private:
  absl::InlinedVector<std::pair<std::string_view, std::string>, 4> params_;
};

// Decoded query parameters in the order they appeared; keys may repeat.
class QueryParams {
 public:
  // Parses "a=1&b=%20x&flag". '+' is a space (form encoding; paths keep
  // '+' literal, see PercentDecode). A key without '=' has an empty value; empty
  // pieces ("a=1&&b=2") are skipped. InvalidArgument on a bad escape or more
  // than kMaxParams pieces (bounds the work an untrusted target can cause).
  static absl::StatusOr<QueryParams> Parse(std::string_view query);
  static constexpr size_t kMaxParams = 64;

  // First value for `key`, or nullopt.
  std::optional<std::string_view> Get(std::string_view key) const;
  std::vector<std::string_view> GetAll(std::string_view key) const;
  bool Has(std::string_view key) const { return Get(key).has_value(); }
  size_t size() const { return params_.size(); }
  const std::vector<std::pair<std::string, std::string>>& items() const {
    return params_;
  }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// The outcome of Router::Match.
struct RouteMatch {
  enum class Result {
    kMatched,           // route_id, params and query are set.
    kNotFound,          // 404: no route has this path.
    kMethodNotAllowed,  // 405: the path exists; `allowed` lists its methods.
    kBadRequest,        // 400: malformed target (bad escape, not origin-form).
  };
  Result result = Result::kNotFound;
  int route_id = -1;
  PathParams params;
  QueryParams query;
  std::vector<Method> allowed;  // only for kMethodNotAllowed, in enum order

  bool matched() const { return result == Result::kMatched; }
  // The value of an `Allow:` header for a 405, e.g. "GET, DELETE".
  std::string AllowHeader() const;
};

// Router maps (method, path pattern) to an opaque route id (the caller keeps
// a table from id to handler; an enum of operations works well).
//
// Patterns are absolute paths whose segments are literals or `{name}`
// captures that span a whole segment: "/api/v2/keys/{id}/actions/{action}".
// A request path is split on '/' first and each segment is percent-decoded
// once afterwards, so "%2F" inside an id never splits a segment.
//
// Precedence: at each segment a literal child beats the capture child, and
// matching backtracks to the capture if the literal branch dead-ends, so
// "/api/v2/keys/registrations" and "/api/v2/keys/{id}" coexist. Whether a
// path exists (404 vs 405) is decided by the first path match in that order.
//
// Add rejects ambiguity instead of resolving it by registration order: an
// exact duplicate (same method and same shape) is AlreadyExists, and two
// captures at the same position with different names are InvalidArgument.
//
// Thread-safety: Add is not thread-safe; build the table once at start-up,
// then Match is const and may be called concurrently from every I/O thread.
class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  absl::Status Add(Method method, std::string_view pattern, int route_id);
  // Convenience for tables written with method strings ("GET").
  absl::Status Add(std::string_view method, std::string_view pattern,
                   int route_id);

  // `target` is the request-target in origin-form, "/path?query". The query
  // is split off and parsed; the fragment (never sent by clients) is not
  // special-cased.
  RouteMatch Match(Method method, std::string_view target) const;
  // Same, into a caller-owned RouteMatch so per-request storage is reused.
  void Match(Method method, std::string_view target, RouteMatch& out) const;

  // Number of (method, pattern) routes registered.
  size_t size() const { return route_count_; }

 private:
  struct Node;
  using Segments = absl::InlinedVector<std::string, 8>;
  const Node* Find(const Node* node, const Segments& segments, size_t index,
                   PathParams& params) const;

  std::unique_ptr<Node> root_;
  size_t route_count_ = 0;
};

}  // namespace keywarden::api::http

#endif  // KEYWARDEN_API_HTTP_ROUTER_H_
