#ifndef KEYWARDEN_CLI_TOKEN_CACHE_H_
#define KEYWARDEN_CLI_TOKEN_CACHE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace keywarden::cli {

// CachedToken is what `keywarden login` keeps between runs: the server it
// logged in to (net::Endpoint::Display() form), the access token and its
// expiration (Unix seconds, from POST /identity/token).
struct CachedToken {
  std::string addr;
  std::string access_token;
  int64_t expiration = 0;
};

// Tokens this close to their expiration count as expired, so a command does
// not start with a token that dies on the way.
inline constexpr absl::Duration kExpirySkew = absl::Seconds(30);

// TokenCachePath is $XDG_CONFIG_HOME/keywarden/token.json when XDG_CONFIG_HOME
// is set and absolute (XDG Base Directory spec), else
// $HOME/.config/keywarden/token.json; FailedPrecondition when neither is
// usable. Arguments are the environment values (nullopt: unset).
absl::StatusOr<std::string> TokenCachePath(
    const std::optional<std::string>& xdg_config_home,
    const std::optional<std::string>& home);

// SaveToken writes `token` to `path` atomically: the directory is created
// with mode 0700 (the keywarden directory is also chmod-ed to 0700), the
// JSON goes to a 0600 temporary file in the same directory that is fsynced
// and renamed over `path`. A reader sees the old file or the new one, never
// a partial one, and the token is never readable by others.
absl::Status SaveToken(const std::string& path, const CachedToken& token);

// LoadToken reads `path`. NotFound when there is none; FailedPrecondition
// when the file is accessible to group or others (it is not used then) or
// is not a token file.
absl::StatusOr<CachedToken> LoadToken(const std::string& path);

// Expired: `now` is within kExpirySkew of the expiration, or past it.
bool Expired(const CachedToken& token, absl::Time now);

}  // namespace keywarden::cli

#endif  // KEYWARDEN_CLI_TOKEN_CACHE_H_
