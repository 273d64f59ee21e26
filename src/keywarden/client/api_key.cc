#include "keywarden/client/api_key.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "keywarden/client/errors.h"
#include "keywarden/common/strings.h"

namespace keywarden::client {

absl::StatusOr<std::string> ReadApiKey(std::string_view path,
                                       std::string_view missing_hint) {
  std::string key;
  if (!path.empty()) {
    const std::string file(path);
    auto unreadable = [&] {
      return absl::InvalidArgumentError(
          AbslView(StrCat("cannot read the API key file ", Printable(file))));
    };
    struct stat st;
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return unreadable();
    }
    if ((st.st_mode & 077) != 0) {
      return absl::InvalidArgumentError(AbslView(
          StrCat("the API key file ", Printable(file),
                 " is readable by group or others: chmod 600 it")));
    }
    std::FILE* in = std::fopen(file.c_str(), "re");
    if (in == nullptr) return unreadable();
    std::setvbuf(in, nullptr, _IONBF, 0);  // no stdio buffer holding a copy
    key.resize(4096);
    key.resize(std::fread(key.data(), 1, key.size(), in));
    std::fclose(in);
  } else if (const char* env = std::getenv("KEYWARDEN_APIKEY")) {
    key = env;
  }
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' ||
                          key.back() == ' ')) {
    key.pop_back();
  }
  if (key.empty()) {
    return absl::InvalidArgumentError(
        AbslView(StrCat("no API key: ", missing_hint)));
  }
  return key;
}

}  // namespace keywarden::client
