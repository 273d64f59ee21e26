#ifndef KEYWARDEN_CLIENT_API_KEY_H_
#define KEYWARDEN_CLIENT_API_KEY_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace keywarden::client {

// The API key an integration authenticates with: the regular file `path`
// (mode 0600 or stricter; read unbuffered, so no stdio copy remains), or
// $KEYWARDEN_APIKEY when `path` is empty; trailing newlines and spaces cut.
// With neither, the error is "no API key: <missing_hint>". The caller hands
// the key to a Transport, which wipes it.
absl::StatusOr<std::string> ReadApiKey(std::string_view path,
                                       std::string_view missing_hint);

}  // namespace keywarden::client

#endif  // KEYWARDEN_CLIENT_API_KEY_H_
