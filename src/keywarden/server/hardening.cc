#include "keywarden/server/hardening.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace keywarden::server {
namespace {

// The files SQLite keeps beside the database; see SqliteStore::Open.
constexpr std::string_view kDatabaseFiles[] = {
    "keywarden.db", "keywarden.db-wal", "keywarden.db-shm",
    "keywarden.db-journal"};

std::string ErrnoText(int err) { return std::strerror(err); }

}  // namespace

absl::Status DisableCoreDumps() {
  struct rlimit none = {0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0) {
    return absl::InternalError(
        absl::StrCat("setrlimit(RLIMIT_CORE, 0): ", ErrnoText(errno)));
  }
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return absl::InternalError(
        absl::StrCat("prctl(PR_SET_DUMPABLE, 0): ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

bool CoreDumpsEnabled() { return ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1; }

absl::Status PreparePrivateDataDir(const std::string& dir) {
  if (dir.empty()) {
    return absl::InvalidArgumentError("data dir must not be empty");
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data dir ", dir, ": ", ErrnoText(errno)));
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("data dir ", dir, " is not a directory"));
  }
  // The same rule as for master.key (seal.cc): the directory holds the
  // master key and the material it protects, so nobody but the server's
  // user may even list it. Refused rather than fixed: a wider mode means
  // someone chose it, and they should learn the server disagrees.
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "data dir %s is accessible by group or others (mode %04o); "
        "chmod 700 it",
        dir, static_cast<unsigned>(st.st_mode & 07777)));
  }
  for (std::string_view name : kDatabaseFiles) {
    const std::string path = absl::StrCat(dir, "/", std::string(name));
    // O_NOFOLLOW: never change the mode of what a symlink points to.
    int fd = ::open(path.c_str(),
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return absl::FailedPreconditionError(
          absl::StrCat("cannot open ", path, ": ", ErrnoText(errno)));
    }
    struct stat fst;
    absl::Status result = absl::OkStatus();
    if (::fstat(fd, &fst) != 0) {
      result = absl::FailedPreconditionError(
          absl::StrCat("cannot stat ", path, ": ", ErrnoText(errno)));
    } else if (S_ISREG(fst.st_mode) && (fst.st_mode & 077) != 0 &&
               ::fchmod(fd, 0600) != 0) {
      result = absl::FailedPreconditionError(
          absl::StrCat("cannot chmod 600 ", path, ": ", ErrnoText(errno)));
    }
    ::close(fd);
    if (!result.ok()) return result;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadPrivateFile(const std::string& path,
                                            size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  struct stat st;
  std::string out;
  absl::Status status;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    status = absl::FailedPreconditionError(
        absl::StrCat(path, ": not a regular file"));
  } else if ((st.st_mode & 077) != 0) {
    status = absl::FailedPreconditionError(absl::StrFormat(
        "%s: mode %04o lets others read it; chmod 600 it", path,
        st.st_mode & 07777));
  } else if (static_cast<size_t>(st.st_size) > max_bytes) {
    status = absl::FailedPreconditionError(
        absl::StrCat(path, ": larger than ", max_bytes, " bytes"));
  } else {
    out.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    out.resize(done);
  }
  ::close(fd);
  if (!status.ok()) return status;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
    out.pop_back();
  }
  return out;
}

}  // namespace keywarden::server
