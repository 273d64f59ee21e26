#include "keywarden/api/http/router.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"

namespace keywarden::api::http {
namespace {

constexpr std::array<std::string_view, kMethodCount> kMethodNames = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

// Debian's Abseil is built with its own absl::string_view (not std's), so
// absl::StrCat does not take std::string_view; this is all we need of it.
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsValidParamName(std::string_view name) {
  if (name.empty()) return false;
  if (!absl::ascii_isalpha(name[0]) && name[0] != '_') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_';
  });
}

bool IsCapture(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' &&
         segment.back() == '}';
}

}  // namespace

std::optional<Method> ParseMethod(std::string_view name) {
  for (int i = 0; i < kMethodCount; ++i) {
    if (kMethodNames[i] == name) return static_cast<Method>(i);
  }
  return std::nullopt;
}

std::string_view MethodName(Method method) {
  return kMethodNames[static_cast<int>(method)];
}

absl::StatusOr<std::string> PercentDecode(std::string_view in) {
  // Most segments (ids, literals) carry no escape at all.
  if (in.find('%') == std::string_view::npos) return std::string(in);
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= in.size()) {
      return absl::InvalidArgumentError("truncated percent escape");
    }
    int hi = HexValue(in[i + 1]);
    int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError("invalid percent escape");
    }
    char decoded = static_cast<char>((hi << 4) | lo);
    // An escaped NUL has no legitimate use in a path or query and truncates
    // C strings further down (logs, SQLite text binds).
    if (decoded == '\0') {
      return absl::InvalidArgumentError("escaped NUL");
    }
    out.push_back(decoded);
    i += 2;
  }
  return out;
}

std::optional<std::string_view> PathParams::Get(std::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

namespace {

std::string PlusToSpace(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '+') c = ' ';
  }
  return out;
}

}  // namespace

absl::StatusOr<QueryParams> QueryParams::Parse(std::string_view query) {
  QueryParams result;
  size_t pieces = 0;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view()
                                          : query.substr(amp + 1);
    if (piece.empty()) continue;
    if (++pieces > kMaxParams) {
      return absl::InvalidArgumentError("too many query parameters");
    }
    size_t eq = piece.find('=');
    std::string_view raw_key = piece.substr(0, eq);
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    // A query is form-encoded: '+' is a space, as Go's url.Values writes
    // one (the Go client's `filter` and `search`); a literal '+' arrives as
    // %2B from every client (and Node's encodeURIComponent).
    absl::StatusOr<std::string> key = PercentDecode(PlusToSpace(raw_key));
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> value = PercentDecode(PlusToSpace(raw_value));
    if (!value.ok()) return value.status();
    result.params_.emplace_back(*std::move(key), *std::move(value));
  }
  return result;
}

std::optional<std::string_view> QueryParams::Get(std::string_view key) const {
  for (const auto& [k, v] : params_) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

std::vector<std::string_view> QueryParams::GetAll(std::string_view key) const {
  std::vector<std::string_view> values;
  for (const auto& [k, v] : params_) {
    if (k == key) values.emplace_back(v);
  }
  return values;
}

std::string RouteMatch::AllowHeader() const {
  std::string out;
  for (Method m : allowed) {
    if (!out.empty()) out += ", ";
    out += MethodName(m);
  }
  return out;
}

struct Router::Node {
  Node() { routes.fill(-1); }

  bool HasAnyRoute() const {
    return std::any_of(routes.begin(), routes.end(),
                       [](int id) { return id >= 0; });
  }

  // Few children per node; std::less<> allows lookup by string_view.
  std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
  std::unique_ptr<Node> capture;
  std::string capture_name;
  std::array<int, kMethodCount> routes;  // route id per method, -1 if none
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

absl::Status Router::Add(std::string_view method, std::string_view pattern,
                         int route_id) {
  std::optional<Method> m = ParseMethod(method);
  if (!m) return absl::InvalidArgumentError(Cat("unknown method ", method));
  return Add(*m, pattern, route_id);
}

absl::Status Router::Add(Method method, std::string_view pattern,
                         int route_id) {
  if (route_id < 0) return absl::InvalidArgumentError("route id must be >= 0");
  if (pattern.empty() || pattern.front() != '/') {
    return absl::InvalidArgumentError(
        Cat("pattern must start with '/': ", pattern));
  }
  // Validate the whole pattern before touching the tree so a rejected Add
  // leaves no half-built branch behind.
  std::vector<std::string_view> segments;
  if (pattern != "/") {
    std::string_view rest = pattern.substr(1);
    for (;;) {
      size_t slash = rest.find('/');
      segments.push_back(rest.substr(0, slash));
      if (slash == std::string_view::npos) break;
      rest = rest.substr(slash + 1);
    }
  }
  std::vector<std::string_view> names;
  for (std::string_view seg : segments) {
    if (seg.empty()) {
      return absl::InvalidArgumentError(
          Cat("empty segment in pattern ", pattern));
    }
    if (IsCapture(seg)) {
      std::string_view name = seg.substr(1, seg.size() - 2);
      if (!IsValidParamName(name)) {
        return absl::InvalidArgumentError(
            Cat("bad parameter name in pattern ", pattern));
      }
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        return absl::InvalidArgumentError(
            Cat("repeated parameter name in pattern ", pattern));
      }
      names.push_back(name);
    } else if (seg.find_first_of("{}?#") != std::string_view::npos) {
      return absl::InvalidArgumentError(
          Cat("bad literal segment in pattern ", pattern));
    }
  }
  // Check for conflicts along the existing path first (again: no partial
  // insertion on failure).
  const Node* probe = root_.get();
  for (std::string_view seg : segments) {
    if (probe == nullptr) break;
    if (IsCapture(seg)) {
      std::string_view name = seg.substr(1, seg.size() - 2);
      if (probe->capture && probe->capture_name != name) {
        return absl::InvalidArgumentError(Cat(
            "pattern ", pattern, " names parameter {", name,
            "} where another route has {", probe->capture_name, "}"));
      }
      probe = probe->capture.get();
    } else {
      auto it = probe->literals.find(seg);
      probe = it == probe->literals.end() ? nullptr : it->second.get();
    }
  }
  if (probe != nullptr && probe->routes[static_cast<int>(method)] >= 0) {
    return absl::AlreadyExistsError(Cat(
        "duplicate route ", MethodName(method), " ", pattern));
  }

  Node* node = root_.get();
  for (std::string_view seg : segments) {
    if (IsCapture(seg)) {
      if (!node->capture) {
        node->capture = std::make_unique<Node>();
        node->capture_name = std::string(seg.substr(1, seg.size() - 2));
      }
      node = node->capture.get();
    } else {
      std::unique_ptr<Node>& child = node->literals[std::string(seg)];
      if (!child) child = std::make_unique<Node>();
      node = child.get();
    }
  }
  node->routes[static_cast<int>(method)] = route_id;
  ++route_count_;
  return absl::OkStatus();
}

const Router::Node* Router::Find(const Node* node, const Segments& segments,
                                 size_t index, PathParams& params) const {
  if (index == segments.size()) return node->HasAnyRoute() ? node : nullptr;
  const std::string& seg = segments[index];
  if (auto it = node->literals.find(seg); it != node->literals.end()) {
    if (const Node* found = Find(it->second.get(), segments, index + 1, params)) {
      return found;
    }
  }
  // A capture never matches an empty segment: "/keys/" is not "/keys/{id}".
  if (node->capture && !seg.empty()) {
    params.Add(node->capture_name, seg);
    if (const Node* found =
            Find(node->capture.get(), segments, index + 1, params)) {
      return found;
    }
    params.PopBack();
  }
  return nullptr;
}

RouteMatch Router::Match(Method method, std::string_view target) const {
  RouteMatch out;
  Match(method, target, out);
  return out;
}

void Router::Match(Method method, std::string_view target,
                   RouteMatch& out) const {
  out.result = RouteMatch::Result::kNotFound;
  out.route_id = -1;
  out.params.Clear();
  out.query = QueryParams();
  out.allowed.clear();

  // Only origin-form is routed; absolute-form and "*" are not used by any
  // client of this API.
  if (target.empty() || target.front() != '/') {
    out.result = RouteMatch::Result::kBadRequest;
    return;
  }
  size_t qmark = target.find('?');
  std::string_view path = target.substr(0, qmark);
  if (qmark != std::string_view::npos) {
    absl::StatusOr<QueryParams> query =
        QueryParams::Parse(target.substr(qmark + 1));
    if (!query.ok()) {
      out.result = RouteMatch::Result::kBadRequest;
      return;
    }
    out.query = *std::move(query);
  }

  // Split on the raw '/' first, then decode each segment exactly once.
  Segments segments;
  if (path != "/") {
    std::string_view rest = path.substr(1);
    for (;;) {
      size_t slash = rest.find('/');
      absl::StatusOr<std::string> seg = PercentDecode(rest.substr(0, slash));
      if (!seg.ok()) {
        out.result = RouteMatch::Result::kBadRequest;
        return;
      }
      segments.push_back(*std::move(seg));
      if (slash == std::string_view::npos) break;
      rest = rest.substr(slash + 1);
    }
  }

  const Node* node = Find(root_.get(), segments, 0, out.params);
  if (node == nullptr) {
    out.params.Clear();
    return;
  }
  int id = node->routes[static_cast<int>(method)];
  if (id < 0) {
    out.params.Clear();
    out.result = RouteMatch::Result::kMethodNotAllowed;
    for (int i = 0; i < kMethodCount; ++i) {
      if (node->routes[i] >= 0) out.allowed.push_back(static_cast<Method>(i));
    }
    return;
  }
  out.result = RouteMatch::Result::kMatched;
  out.route_id = id;
}

}  // namespace keywarden::api::http
