// keywarden login: exchange an API key for an access token at
// POST /identity/token (docs/admin-api.md "Tokens") and save the token for
// later commands (token_cache.h).
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include <boost/json/object.hpp>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "keywarden/cli/command_support.h"
#include "keywarden/cli/token_cache.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

// Reads one line from the terminal with echo off. nullopt when stdin is not
// a terminal (nothing to prompt) or reading fails.
std::optional<std::string> PromptHidden(const char* prompt) {
  if (!::isatty(STDIN_FILENO)) return std::nullopt;
  std::fputs(prompt, stderr);
  std::fflush(stderr);
  termios old_mode;
  const bool have_mode = ::tcgetattr(STDIN_FILENO, &old_mode) == 0;
  if (have_mode) {
    termios quiet = old_mode;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  bool ok = false;
  for (;;) {
    const int c = std::fgetc(stdin);
    if (c == EOF) break;
    if (c == '\n') {
      ok = true;
      break;
    }
    line.push_back(static_cast<char>(c));
  }
  if (have_mode) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old_mode);
  if (!ok && line.empty()) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

struct LoginOptions {
  std::string apikey;
};

absl::Status Login(const GlobalOptions& g, const LoginOptions& o) {
  auto endpoint = ResolveEndpoint(g);
  if (!endpoint.ok()) return endpoint.status();
  std::string apikey = o.apikey;
  if (apikey.empty()) {
    if (const char* env = std::getenv("KEYWARDEN_APIKEY")) apikey = env;
  }
  if (apikey.empty()) {
    auto typed = PromptHidden("API key: ");
    if (!typed) {
      return UsageError(
          "no API key: pass --apikey, set KEYWARDEN_APIKEY, or run on a "
          "terminal to be asked for it");
    }
    apikey = std::move(*typed);
    if (apikey.empty()) return UsageError("no API key given");
  }
  auto path = TokenCachePath(
      std::getenv("XDG_CONFIG_HOME") ? std::optional<std::string>(
                                           std::getenv("XDG_CONFIG_HOME"))
                                     : std::nullopt,
      std::getenv("HOME") ? std::optional<std::string>(std::getenv("HOME"))
                          : std::nullopt);
  if (!path.ok()) return path.status();

  const ApiClient client(*endpoint, "", HttpOptionsOf(g));
  auto answer = client.PostForm(
      "/identity/token",
      StrCat("grant_type=", PercentEncode("urn:ibm:params:oauth:grant-type:apikey"),
             "&apikey=", PercentEncode(apikey)));
  if (!answer.ok()) return answer.status();

  const json::object* obj = answer->if_object();
  const json::value* access = obj ? obj->if_contains("access_token") : nullptr;
  const json::value* expiration = obj ? obj->if_contains("expiration") : nullptr;
  const json::value* expires_in = obj ? obj->if_contains("expires_in") : nullptr;
  if (access == nullptr || !access->is_string() || access->get_string().empty()) {
    return absl::InternalError(
        "unexpected answer from POST /identity/token: no access_token");
  }
  CachedToken token;
  token.addr = endpoint->Display();
  token.access_token = std::string(access->get_string());
  if (expiration != nullptr && expiration->is_int64()) {
    token.expiration = expiration->get_int64();
  } else if (expiration != nullptr && expiration->is_uint64()) {
    token.expiration = static_cast<int64_t>(expiration->get_uint64());
  } else if (expires_in != nullptr && expires_in->is_int64()) {
    token.expiration = absl::ToUnixSeconds(absl::Now()) + expires_in->get_int64();
  } else {
    return absl::InternalError(
        "unexpected answer from POST /identity/token: no expiration");
  }
  if (auto s = SaveToken(*path, token); !s.ok()) return s;

  const std::string until =
      absl::FormatTime(kUtcSeconds,
                       absl::FromUnixSeconds(token.expiration),
                       absl::UTCTimeZone());
  if (g.output == "json") {
    json::object out;
    out["addr"] = token.addr;
    out["expiration"] = token.expiration;
    out["tokenFile"] = *path;
    Out(FormatJson(out));
  } else {
    Out(StrCat("Logged in to ", token.addr, " until ", until, " (token saved in ",
               Printable(*path), ").\n"));
  }
  return absl::OkStatus();
}

}  // namespace

void AddLoginCommand(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<LoginOptions>();
  CLI::App* cmd = AddCommand(
      &app, "login",
      "Exchange an API key for a token and save it for later commands",
      exit_code, [o](const GlobalOptions& g) { return Login(g, *o); },
      /*with_token=*/false);
  cmd->add_option("--apikey", o->apikey,
                  "API key (env KEYWARDEN_APIKEY; asked for on a terminal "
                  "when neither is given; a flag is visible to other local "
                  "users in the process list)");
}

}  // namespace keywarden::cli
