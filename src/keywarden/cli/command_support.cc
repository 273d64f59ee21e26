#include "keywarden/cli/command_support.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include <boost/json/array.hpp>

#include "absl/strings/cord.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "keywarden/cli/token_cache.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

constexpr std::string_view kUsagePayload = "keywarden.cli/usage";

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::string EnvOr(const char* name, std::string_view fallback) {
  auto v = Env(name);
  return v && !v->empty() ? *v : std::string(fallback);
}

// Prints the one-line error of a failed command; returns the exit code.
int Report(const absl::Status& s, bool token_from_cache) {
  if (s.ok()) return 0;
  std::string msg = Printable(StdView(s.message()));
  if (token_from_cache && s.code() == absl::StatusCode::kUnauthenticated) {
    msg += " (the saved login was refused: run `keywarden login` again)";
  }
  std::fprintf(stderr, "keywarden: %s\n", msg.c_str());
  std::fflush(stderr);
  return s.GetPayload(AbslView(kUsagePayload)).has_value() ? 2 : 1;
}

void AddGlobalOptions(CLI::App* cmd, GlobalOptions* g, bool with_token) {
  cmd->add_option("--addr", g->addr,
                  StrCat("Server address (env KEYWARDEN_ADDR; default ",
                         kDefaultAddr, ")"));
  if (with_token) {
    cmd->add_option("--token", g->token,
                    "Bearer token (env KEYWARDEN_TOKEN; default: the token "
                    "saved by `keywarden login`)");
  }
  cmd->add_option("-o,--output", g->output, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->add_flag("--insecure", g->insecure,
                "Do not verify the server's TLS certificate (env "
                "KEYWARDEN_INSECURE=1; development servers only)");
}

}  // namespace

absl::Status UsageError(std::string_view message) {
  absl::Status s = absl::InvalidArgumentError(AbslView(message));
  s.SetPayload(AbslView(kUsagePayload), absl::Cord("1"));
  return s;
}

absl::StatusOr<net::Endpoint> ResolveEndpoint(const GlobalOptions& g) {
  const std::string addr =
      g.addr.empty() ? EnvOr("KEYWARDEN_ADDR", kDefaultAddr) : g.addr;
  auto e = net::ParseEndpoint(addr);
  if (!e.ok()) return UsageError(StdView(e.status().message()));
  return e;
}

net::HttpOptions HttpOptionsOf(const GlobalOptions& g) {
  net::HttpOptions o;
  const std::string env = EnvOr("KEYWARDEN_INSECURE", "");
  o.insecure = g.insecure || env == "1" || env == "true" || env == "yes";
  o.user_agent = "keywarden-cli/0.1";
  o.untrusted_certificate_hint =
      "for a development server with a self-signed certificate, pass "
      "--insecure or set KEYWARDEN_INSECURE=1";
  return o;
}

absl::StatusOr<Session> ResolveSession(const GlobalOptions& g,
                                       bool needs_token) {
  auto endpoint = ResolveEndpoint(g);
  if (!endpoint.ok()) return endpoint.status();
  const OutputFormat format =
      g.output == "json" ? OutputFormat::kJson : OutputFormat::kTable;
  std::string token =
      g.token.empty() ? EnvOr("KEYWARDEN_TOKEN", "") : g.token;
  bool from_cache = false;
  if (token.empty() && needs_token) {
    auto path = TokenCachePath(Env("XDG_CONFIG_HOME"), Env("HOME"));
    if (!path.ok()) return path.status();
    auto cached = LoadToken(*path);
    if (absl::IsNotFound(cached.status())) {
      return absl::UnauthenticatedError(AbslView(StrCat(
          "not logged in: run `keywarden login --addr ", endpoint->Display(),
          "`, or pass --token / set KEYWARDEN_TOKEN")));
    }
    if (!cached.ok()) return cached.status();
    // A token goes only to the server that issued it.
    if (cached->addr != endpoint->Display()) {
      return absl::UnauthenticatedError(AbslView(StrCat(
          "the saved login is for ", Printable(cached->addr), ", not ",
          endpoint->Display(), ": run `keywarden login --addr ",
          endpoint->Display(), "` or pass --addr ", Printable(cached->addr))));
    }
    if (Expired(*cached, absl::Now())) {
      return absl::UnauthenticatedError(AbslView(StrCat(
          "the saved login for ", endpoint->Display(), " expired at ",
          StdView(absl::FormatTime(kUtcSeconds,
                                   absl::FromUnixSeconds(cached->expiration),
                                   absl::UTCTimeZone())),
          ": run `keywarden login` again")));
    }
    token = std::move(cached->access_token);
    from_cache = true;
  }
  return Session{ApiClient(*std::move(endpoint), std::move(token),
                           HttpOptionsOf(g)),
                 format, from_cache};
}

CLI::App* AddCommand(CLI::App* parent, const std::string& name,
                     const std::string& description, int& exit_code,
                     std::function<absl::Status(const GlobalOptions&)> body,
                     bool with_token) {
  CLI::App* cmd = parent->add_subcommand(name, description);
  auto g = std::make_shared<GlobalOptions>();
  AddGlobalOptions(cmd, g.get(), with_token);
  cmd->callback([g, body = std::move(body), &exit_code] {
    exit_code = Report(body(*g), false);
  });
  return cmd;
}

CLI::App* AddSessionCommand(CLI::App* parent, const std::string& name,
                            const std::string& description, int& exit_code,
                            std::function<absl::Status(const Session&)> body) {
  CLI::App* cmd = parent->add_subcommand(name, description);
  auto g = std::make_shared<GlobalOptions>();
  AddGlobalOptions(cmd, g.get(), true);
  cmd->callback([g, body = std::move(body), &exit_code] {
    auto session = ResolveSession(*g, /*needs_token=*/true);
    if (!session.ok()) {
      exit_code = Report(session.status(), false);
      return;
    }
    exit_code = Report(body(*session), session->token_from_cache);
  });
  return cmd;
}

std::string Query(
    std::initializer_list<std::pair<std::string_view, std::string>> params) {
  std::string q;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    StrAppend(&q, q.empty() ? "?" : "&", k, "=", PercentEncode(v));
  }
  return q;
}

void Out(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void PrintResource(const Session& s, const json::value& resource,
                   std::span<const Column> columns) {
  if (s.format == OutputFormat::kJson) {
    Out(FormatJson(resource));
    return;
  }
  json::array rows;
  rows.push_back(resource);
  Out(FormatTable(columns, rows));
}

absl::Status PrintList(const Session& s, const json::value& answer,
                       std::string_view key, std::span<const Column> columns) {
  const json::object* obj = answer.if_object();
  const json::value* list =
      obj == nullptr ? nullptr
                     : obj->if_contains(json::string_view(key.data(), key.size()));
  if (list == nullptr || !list->is_array()) {
    return absl::InternalError(AbslView(StrCat(
        "unexpected answer from the server: no \"", key, "\" array")));
  }
  if (s.format == OutputFormat::kJson) {
    Out(FormatJson(*list));
  } else {
    Out(FormatTable(columns, list->get_array()));
  }
  return absl::OkStatus();
}

void PrintDeleted(const Session& s, std::string_view what,
                  std::string_view id) {
  if (s.format == OutputFormat::kTable) {
    Out(StrCat("Deleted ", what, " ", Printable(id), ".\n"));
  }
}

}  // namespace keywarden::cli
