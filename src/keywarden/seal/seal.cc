#include "keywarden/seal/seal.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/crypto/aes_gcm.h"
#include "keywarden/crypto/base64.h"
#include "keywarden/crypto/random.h"

namespace keywarden::seal {
namespace {

constexpr std::string_view kSealedMessage =
    "Service Unavailable: the service is sealed; an operator must unseal it";
constexpr size_t kMasterKeySize = 32;  // AES-256 (ARCHITECTURE.md §3)
constexpr size_t kSealedOverhead = crypto::kGcmNonceSize + crypto::kGcmTagSize;

// master.key, docs/formats/material.md §2: three '\n'-terminated lines.
constexpr char kMagicLine[] = "keywarden-master-key v1";
constexpr char kFileName[] = "master.key";
// A v1 file is 23 + 1 + 36 + 1 + 44 + 1 = 106 bytes; anything much larger is
// not ours and is not read into memory.
constexpr size_t kMaxFileSize = 4096;

// Closes a descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the result (close can report a deferred write
  // error, which matters for a file we just wrote).
  int Close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd);
  }

 private:
  int fd_;
};

// Wipes a std::string that held key material (the base64 line) before its
// storage is released.
struct StringWiper {
  std::string& s;
  ~StringWiper() {
    if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  }
};

std::string ErrnoText(int err) { return std::strerror(err); }

absl::Status FileError(const std::string& path, const char* what,
                       int err) {
  return absl::FailedPreconditionError(absl::StrCat(
      "master key file ", path, ": ", what, ": ", ErrnoText(err)));
}

// Creates `dir` and any missing parents with mode 0700: the data directory
// holds the master key and the material it protects.
absl::Status MakeDirs(const std::string& dir) {
  if (dir.empty()) {
    return absl::InvalidArgumentError("data directory must not be empty");
  }
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot create data directory ", prefix, ": ", ErrnoText(errno)));
    }
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("data directory ", dir, " is not a directory"));
  }
  return absl::OkStatus();
}

absl::Status Malformed(const std::string& path, const char* detail) {
  // `detail` names what is wrong, never the content (which may be the key).
  return absl::FailedPreconditionError(
      absl::StrCat("master key file ", path, " is malformed (", detail,
                   "); expected the keywarden-master-key v1 format of "
                   "docs/formats/material.md"));
}

// Parses a v1 file. Strict: exactly three '\n'-terminated lines, nothing
// before or after, canonical base64 of exactly 32 bytes.
absl::StatusOr<std::unique_ptr<MasterKey>> Parse(const std::string& path,
                                                 std::string_view content) {
  std::string_view lines[3];
  std::string_view rest = content;
  for (auto& line : lines) {
    const size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      return Malformed(path, "expected three newline-terminated lines");
    }
    line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
  }
  if (!rest.empty()) return Malformed(path, "data after the third line");
  if (lines[0] != kMagicLine) return Malformed(path, "bad header line");
  if (!IsUuid(lines[1])) return Malformed(path, "key id is not a UUID");
  absl::StatusOr<SecretBytes> key = crypto::Base64Decode(lines[2]);
  if (!key.ok() || key->size() != kMasterKeySize) {
    return Malformed(path, "key is not base64 of 32 bytes");
  }
  return MasterKey::Create(std::string(lines[1]), key->span());
}

class FileSeal final : public Seal {
 public:
  explicit FileSeal(std::string data_dir) : data_dir_(std::move(data_dir)) {}

  absl::StatusOr<std::unique_ptr<MasterKey>> Unseal() override {
    KW_RETURN_IF_ERROR(MakeDirs(data_dir_));
    const std::string path = absl::StrCat(data_dir_, "/", kFileName);
    // Two attempts: if another process creates the file between our failed
    // open and our O_EXCL create, load what it wrote.
    for (int attempt = 0; attempt < 2; ++attempt) {
      absl::StatusOr<std::unique_ptr<MasterKey>> loaded = Load(path);
      if (loaded.ok() || !absl::IsNotFound(loaded.status())) return loaded;
      absl::StatusOr<std::unique_ptr<MasterKey>> created = Generate(path);
      if (created.ok() || !absl::IsAlreadyExists(created.status())) {
        return created;
      }
    }
    return absl::FailedPreconditionError(
        absl::StrCat("master key file ", path, " keeps appearing and vanishing"));
  }

 private:
  // NotFound if the file does not exist (the caller then generates it).
  static absl::StatusOr<std::unique_ptr<MasterKey>> Load(
      const std::string& path) {
    // O_NOFOLLOW: a symlink is refused rather than followed to a file whose
    // permissions we did not check. O_NONBLOCK: opening a FIFO must not hang.
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
      const int err = errno;
      if (err == ENOENT) return absl::NotFoundError(path);
      if (err == ELOOP) {
        return absl::FailedPreconditionError(absl::StrCat(
            "master key file ", path, " is a symbolic link, not a regular file"));
      }
      return FileError(path, "cannot open", err);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return FileError(path, "cannot stat", errno);
    if (!S_ISREG(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("master key file ", path, " is not a regular file"));
    }
    if ((st.st_mode & 077) != 0) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "master key file %s is readable or writable by group or others "
          "(mode %04o); chmod 600 it",
          path, static_cast<unsigned>(st.st_mode & 07777)));
    }
    if (st.st_size > static_cast<off_t>(kMaxFileSize)) {
      return Malformed(path, "file too large");
    }
    // Read into a wiped buffer: the file holds the key in base64.
    SecretBytes buf(kMaxFileSize + 1);
    size_t used = 0;
    while (used < buf.size()) {
      const ssize_t r = ::read(fd.get(), buf.data() + used, buf.size() - used);
      if (r < 0) {
        if (errno == EINTR) continue;
        return FileError(path, "cannot read", errno);
      }
      if (r == 0) break;
      used += static_cast<size_t>(r);
    }
    if (used > kMaxFileSize) return Malformed(path, "file too large");
    return Parse(path, std::string_view(
                           reinterpret_cast<const char*>(buf.data()), used));
  }

  // AlreadyExists if the file appeared meanwhile.
  static absl::StatusOr<std::unique_ptr<MasterKey>> Generate(
      const std::string& path) {
    const SecretBytes key = crypto::RandomSecret(kMasterKeySize);
    const std::string id = NewUuid();
    KW_RETURN_IF_ERROR(WriteKeyFile(path, id, key.span()));
    return MasterKey::Create(id, key.span());
  }

  // Creates `path` holding `key` under `id`, durably. AlreadyExists if it
  // exists.
  static absl::Status WriteKeyFile(const std::string& path,
                                   std::string_view id,
                                   std::span<const uint8_t> key) {
    std::string encoded = crypto::Base64Encode(key);
    StringWiper wipe_encoded{encoded};
    std::string content = absl::StrCat(kMagicLine, "\n", std::string(id), "\n", encoded, "\n");
    StringWiper wipe_content{content};

    // O_EXCL: never overwrite an existing key (that would orphan every
    // sealed row). Mode 0600 from the start, so there is no window in which
    // the key is readable by others.
    Fd fd(::open(path.c_str(),
                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
      if (errno == EEXIST) return absl::AlreadyExistsError(path);
      return FileError(path, "cannot create", errno);
    }
    absl::Status status = WriteAll(fd.get(), content);
    if (status.ok() && ::fsync(fd.get()) != 0) status = FileErrorNow(path, "fsync");
    if (status.ok() && fd.Close() != 0) status = FileErrorNow(path, "close");
    if (status.ok()) status = SyncDir(path);
    if (!status.ok()) {
      // A partial file would make every later start fail as malformed.
      ::unlink(path.c_str());
    }
    return status;
  }

 public:
  // Rekey (docs/formats/material.md §2 "Rekey"): the next key is written
  // to master.key.next through a temporary file and a rename, so that a
  // crash leaves either no staged key or a whole one; master.key is
  // untouched until PromoteStaged renames the staged file over it.
  absl::Status StageNext(std::string_view id,
                         std::span<const uint8_t> key) override {
    if (!IsUuid(id) || key.size() != kMasterKeySize) {
      return absl::InvalidArgumentError("a master key is a UUID and 32 bytes");
    }
    KW_RETURN_IF_ERROR(MakeDirs(data_dir_));
    const std::string tmp = absl::StrCat(StagedPath(), ".tmp");
    ::unlink(tmp.c_str());  // left by a crash in an earlier StageNext
    KW_RETURN_IF_ERROR(WriteKeyFile(tmp, id, key));
    if (::rename(tmp.c_str(), StagedPath().c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return FileError(StagedPath(), "cannot rename into place", err);
    }
    return SyncDir(StagedPath());
  }

  absl::StatusOr<std::unique_ptr<MasterKey>> LoadStaged() override {
    return Load(StagedPath());
  }

  absl::Status PromoteStaged() override {
    const std::string path = absl::StrCat(data_dir_, "/", kFileName);
    if (::rename(StagedPath().c_str(), path.c_str()) != 0) {
      if (errno == ENOENT) return absl::NotFoundError("no staged master key");
      return FileError(path, "cannot replace with the staged key", errno);
    }
    return SyncDir(path);
  }

 private:
  std::string StagedPath() const {
    return absl::StrCat(data_dir_, "/", kFileName, ".next");
  }

  static absl::Status FileErrorNow(const std::string& path, const char* what) {
    return FileError(path, what, errno);
  }

  static absl::Status WriteAll(int fd, std::string_view data) {
    while (!data.empty()) {
      const ssize_t w = ::write(fd, data.data(), data.size());
      if (w < 0) {
        if (errno == EINTR) continue;
        return absl::FailedPreconditionError(
            absl::StrCat("cannot write master key file: ", ErrnoText(errno)));
      }
      data.remove_prefix(static_cast<size_t>(w));
    }
    return absl::OkStatus();
  }

  // fsync the directory so the new entry survives a crash (the file's own
  // fsync does not cover its directory entry on POSIX).
  static absl::Status SyncDir(const std::string& path) {
    const std::string dir = path.substr(0, path.rfind('/'));
    Fd dfd(::open(dir.empty() ? "/" : dir.c_str(),
                  O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd.get() < 0) return FileError(path, "cannot open its directory", errno);
    if (::fsync(dfd.get()) != 0) return FileError(path, "fsync of its directory", errno);
    return absl::OkStatus();
  }

  const std::string data_dir_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<MasterKey>> MasterKey::Create(
    std::string id, std::span<const uint8_t> key) {
  auto slot = std::make_unique<MasterKey>();
  KW_RETURN_IF_ERROR(slot->Install(std::move(id), key));
  return slot;
}

namespace {

absl::StatusOr<std::shared_ptr<const crypto::AesGcm>> NewAead(
    std::string_view id, std::span<const uint8_t> key) {
  if (id.empty()) return absl::InvalidArgumentError("master key id is empty");
  if (key.size() != kMasterKeySize) {
    return absl::InvalidArgumentError("master key must be 32 bytes (AES-256)");
  }
  KW_ASSIGN_OR_RETURN(crypto::AesGcm aead, crypto::AesGcm::Create(key));
  return std::make_shared<const crypto::AesGcm>(std::move(aead));
}

}  // namespace

std::string MasterKey::id() const {
  absl::MutexLock lock(&mu_);
  return id_;
}

std::vector<std::string> MasterKey::ids() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  if (!installed_.load(std::memory_order_relaxed)) return out;
  out.push_back(id_);
  for (const Held& h : keys_) {
    if (h.id != id_) out.push_back(h.id);
  }
  return out;
}

absl::Status MasterKey::Install(std::string id, std::span<const uint8_t> key) {
  KW_ASSIGN_OR_RETURN(std::shared_ptr<const crypto::AesGcm> aead,
                      NewAead(id, key));
  std::vector<Held> old;
  absl::MutexLock lock(&mu_);
  old.swap(keys_);
  keys_.push_back(Held{id, std::move(aead)});
  id_ = std::move(id);
  installed_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status MasterKey::InstallFrom(const MasterKey& other) {
  if (&other == this) return absl::OkStatus();
  std::string id;
  std::vector<Held> keys;
  {
    absl::MutexLock lock(&other.mu_);
    id = other.id_;
    keys = other.keys_;
  }
  if (keys.empty()) return SealedError();
  absl::MutexLock lock(&mu_);
  id_ = std::move(id);
  keys_.swap(keys);
  installed_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status MasterKey::AddKey(std::string id, std::span<const uint8_t> key,
                               bool make_current) {
  KW_ASSIGN_OR_RETURN(std::shared_ptr<const crypto::AesGcm> aead,
                      NewAead(id, key));
  absl::MutexLock lock(&mu_);
  if (!installed_.load(std::memory_order_relaxed)) return SealedError();
  bool found = false;
  for (Held& h : keys_) {
    if (h.id == id) {
      found = true;
      break;
    }
  }
  if (!found) keys_.push_back(Held{id, std::move(aead)});
  if (make_current) id_ = std::move(id);
  return absl::OkStatus();
}

void MasterKey::RetireKey(std::string_view id) {
  std::vector<Held> dropped;
  absl::MutexLock lock(&mu_);
  if (id == id_) return;
  for (auto it = keys_.begin(); it != keys_.end(); ++it) {
    if (it->id == id) {
      dropped.push_back(std::move(*it));
      keys_.erase(it);
      return;
    }
  }
}

void MasterKey::Wipe() {
  std::vector<Held> old;
  {
    absl::MutexLock lock(&mu_);
    installed_.store(false, std::memory_order_release);
    old.swap(keys_);
  }
  // `old` goes here (or with the last call still using it): freeing the
  // OpenSSL contexts cleanses the key schedule (aes_gcm.h).
}

std::shared_ptr<const crypto::AesGcm> MasterKey::Current() const {
  return Find(id());
}

std::shared_ptr<const crypto::AesGcm> MasterKey::Find(
    std::string_view id) const {
  absl::MutexLock lock(&mu_);
  for (const Held& h : keys_) {
    if (h.id == id) return h.aead;
  }
  return nullptr;
}

absl::StatusOr<std::shared_ptr<const crypto::AesGcm>> MasterKey::Lookup(
    std::string_view id) const {
  absl::MutexLock lock(&mu_);
  if (!installed_.load(std::memory_order_relaxed)) return SealedError();
  for (const Held& h : keys_) {
    if (h.id == id) return h.aead;
  }
  return std::shared_ptr<const crypto::AesGcm>();
}

// docs/formats/material.md §1: nonce (12) || ciphertext || tag (16). A fresh
// random 96-bit nonce per call (NIST SP 800-38D §8.2.2); the number of
// messages under one master key stays far below the 2^32 limit of §8.3.
absl::StatusOr<std::vector<uint8_t>> MasterKey::Encrypt(
    std::span<const uint8_t> plaintext, std::span<const uint8_t> aad) const {
  return Encrypt(id(), plaintext, aad);
}

absl::StatusOr<std::vector<uint8_t>> MasterKey::Encrypt(
    std::string_view key_id, std::span<const uint8_t> plaintext,
    std::span<const uint8_t> aad) const {
  KW_ASSIGN_OR_RETURN(std::shared_ptr<const crypto::AesGcm> aead,
                      Lookup(key_id));
  if (aead == nullptr) {
    // Retired by a rekey between the caller's id() and now: try again.
    return absl::UnavailableError("the master key changed; try again");
  }
  std::vector<uint8_t> sealed(kSealedOverhead + plaintext.size());
  const std::span<uint8_t> all(sealed);
  const std::span<uint8_t> nonce = all.first(crypto::kGcmNonceSize);
  crypto::RandomBytes(nonce);
  KW_RETURN_IF_ERROR(aead->EncryptInto(
      nonce, plaintext, aad, all.subspan(crypto::kGcmNonceSize)));
  return sealed;
}

absl::StatusOr<SecretBytes> MasterKey::Decrypt(
    std::span<const uint8_t> sealed, std::span<const uint8_t> aad) const {
  std::shared_ptr<const crypto::AesGcm> aead = Current();
  if (aead == nullptr) return SealedError();
  if (sealed.size() < kSealedOverhead) {
    return absl::InvalidArgumentError("decryption failed");
  }
  return aead->Decrypt(sealed.first(crypto::kGcmNonceSize),
                       sealed.subspan(crypto::kGcmNonceSize), aad);
}

absl::StatusOr<SecretBytes> MasterKey::Decrypt(
    std::string_view key_id, std::span<const uint8_t> blob,
    std::span<const uint8_t> aad) const {
  KW_ASSIGN_OR_RETURN(std::shared_ptr<const crypto::AesGcm> aead,
                      Lookup(key_id));
  if (aead == nullptr && resolver_) {
    absl::Status learnt = resolver_(key_id);
    if (IsSealedError(learnt)) return learnt;
    if (learnt.ok()) {
      KW_ASSIGN_OR_RETURN(aead, Lookup(key_id));
    }
  }
  if (aead == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("the row is sealed under master key ", std::string(key_id),
               ", which this node does not hold"));
  }
  if (blob.size() < kSealedOverhead) {
    return absl::InvalidArgumentError("decryption failed");
  }
  return aead->Decrypt(blob.first(crypto::kGcmNonceSize),
                       blob.subspan(crypto::kGcmNonceSize), aad);
}

absl::Status MasterKey::Refresh() const {
  if (!refresher_) {
    return absl::FailedPreconditionError(
        "this node cannot learn a new master key");
  }
  return refresher_();
}

absl::Status SealedError() {
  return absl::UnavailableError(std::string(kSealedMessage));
}

bool IsSealedError(const absl::Status& status) {
  return absl::IsUnavailable(status) &&
         std::string_view(status.message().data(), status.message().size()) ==
             kSealedMessage;
}

std::unique_ptr<Seal> NewFileSeal(std::string data_dir) {
  return std::make_unique<FileSeal>(std::move(data_dir));
}

}  // namespace keywarden::seal
