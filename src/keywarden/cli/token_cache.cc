#include "keywarden/cli/token_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "absl/status/status.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

std::string Errno() { return std::strerror(errno); }

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// mkdir -p with mode 0700 for every directory it creates.
absl::Status MakeDirs(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(StrCat(dir, " is not a directory"));
    }
    return absl::OkStatus();
  }
  const std::string parent = DirOf(dir);
  if (parent != dir) {
    if (auto s = MakeDirs(parent); !s.ok()) return s;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        StrCat("cannot create ", dir, ": ", Errno()));
  }
  return absl::OkStatus();
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> TokenCachePath(
    const std::optional<std::string>& xdg_config_home,
    const std::optional<std::string>& home) {
  // The spec says a relative XDG_CONFIG_HOME is invalid and to be ignored.
  if (xdg_config_home && !xdg_config_home->empty() &&
      (*xdg_config_home)[0] == '/') {
    return StrCat(*xdg_config_home, "/keywarden/token.json");
  }
  if (home && !home->empty()) {
    return StrCat(*home, "/.config/keywarden/token.json");
  }
  return absl::FailedPreconditionError(
      "cannot find a place for the token: set HOME or XDG_CONFIG_HOME");
}

absl::Status SaveToken(const std::string& path, const CachedToken& token) {
  const std::string dir = DirOf(path);
  if (auto s = MakeDirs(dir); !s.ok()) return s;
  // The keywarden directory is ours: keep it private even if it existed.
  if (::chmod(dir.c_str(), 0700) != 0) {
    return absl::FailedPreconditionError(
        StrCat("cannot chmod 0700 ", dir, ": ", Errno()));
  }
  json::object obj;
  obj["addr"] = token.addr;
  obj["access_token"] = token.access_token;
  obj["expiration"] = token.expiration;
  const std::string data = json::serialize(obj) + "\n";

  std::string tmp = path + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());  // O_EXCL, mode 0600
  if (fd < 0) {
    return absl::FailedPreconditionError(
        StrCat("cannot create a file in ", dir, ": ", Errno()));
  }
  const bool ok = ::fchmod(fd, 0600) == 0 && WriteAll(fd, data) &&
                  ::fsync(fd) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(ok ? errno : saved_errno);
    ::unlink(tmp.c_str());
    return absl::FailedPreconditionError(
        StrCat("cannot write ", path, ": ", why));
  }
  // Make the rename durable; failure here loses at most a login.
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<CachedToken> LoadToken(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(StrCat("no saved token in ", path));
    }
    return absl::FailedPreconditionError(
        StrCat("cannot read ", path, ": ", Errno()));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(
        StrCat(path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o",
                  static_cast<unsigned>(st.st_mode & 07777));
    return absl::FailedPreconditionError(
        StrCat(path, " is accessible to other users (mode ", mode,
               "): not using it; run `keywarden login` again"));
  }
  std::string data;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > (1 << 20)) break;
  }
  ::close(fd);
  json::error_code ec;
  json::value v = json::parse(data, ec);
  CachedToken t;
  const json::object* obj = ec ? nullptr : v.if_object();
  const json::value* addr = obj ? obj->if_contains("addr") : nullptr;
  const json::value* tok = obj ? obj->if_contains("access_token") : nullptr;
  const json::value* exp = obj ? obj->if_contains("expiration") : nullptr;
  if (addr == nullptr || !addr->is_string() || tok == nullptr ||
      !tok->is_string() || exp == nullptr || !exp->is_int64()) {
    return absl::FailedPreconditionError(StrCat(
        path, " is not a keywarden token file; run `keywarden login` again"));
  }
  t.addr = std::string(addr->get_string());
  t.access_token = std::string(tok->get_string());
  t.expiration = exp->get_int64();
  return t;
}

bool Expired(const CachedToken& token, absl::Time now) {
  return now + kExpirySkew >= absl::FromUnixSeconds(token.expiration);
}

}  // namespace keywarden::cli
