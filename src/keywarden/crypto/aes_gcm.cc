#include "keywarden/crypto/aes_gcm.h"
#include "keywarden/crypto/aes_gcm_segments.h"
#include "keywarden/crypto/ciphers.h"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/status_macros.h"

namespace keywarden::crypto {
namespace {

// The one message every Decrypt failure returns (aes_gcm.h): telling a
// short input from a bad tag would only help an attacker.
constexpr char kDecryptionFailed[] = "decryption failed";

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

// Built only on failure: a non-OK Status with a message allocates, and the
// success path of Decrypt should not pay for it.
absl::Status DecryptionFailed() {
  return absl::InvalidArgumentError(kDecryptionFailed);
}

// EVP_*Update take int lengths.
bool FitsInt(size_t n) { return n <= static_cast<size_t>(INT_MAX) - kGcmTagSize; }

}  // namespace

struct AesGcm::Templates {
  CtxPtr encrypt;
  CtxPtr decrypt;
};

namespace {

// The per-thread context a call works in. After each call it is reset, which
// frees (and cleanses) the copied key schedule, so no key outlives its call
// in scratch memory.
class ScratchCtx {
 public:
  ScratchCtx() : ctx_(EVP_CIPHER_CTX_new()) {}
  // Copies `keyed` in; nullptr on failure.
  EVP_CIPHER_CTX* From(const EVP_CIPHER_CTX* keyed) {
    if (ctx_ == nullptr || EVP_CIPHER_CTX_copy(ctx_.get(), keyed) != 1) {
      return nullptr;
    }
    return ctx_.get();
  }
  ~ScratchCtx() = default;

 private:
  CtxPtr ctx_;
};

// Resets the scratch context when a call leaves, on every path.
struct ResetOnExit {
  EVP_CIPHER_CTX* ctx;
  ~ResetOnExit() {
    if (ctx != nullptr) EVP_CIPHER_CTX_reset(ctx);
  }
};

EVP_CIPHER_CTX* Scratch(const EVP_CIPHER_CTX* keyed) {
  thread_local ScratchCtx scratch;
  return scratch.From(keyed);
}

}  // namespace

absl::StatusOr<AesGcm> AesGcm::Create(std::span<const uint8_t> key) {
  const EVP_CIPHER* cipher = AesGcmCipher(key.size());
  if (cipher == nullptr) {
    return absl::InvalidArgumentError(
        "AES-GCM key must be 16, 24 or 32 bytes");
  }
  auto templates = std::make_shared<Templates>();
  templates->encrypt.reset(EVP_CIPHER_CTX_new());
  templates->decrypt.reset(EVP_CIPHER_CTX_new());
  if (templates->encrypt == nullptr || templates->decrypt == nullptr ||
      EVP_EncryptInit_ex(templates->encrypt.get(), cipher, nullptr, key.data(),
                         nullptr) != 1 ||
      EVP_DecryptInit_ex(templates->decrypt.get(), cipher, nullptr, key.data(),
                         nullptr) != 1) {
    return absl::InternalError("AES-GCM key setup failed");
  }
  return AesGcm(std::move(templates));
}

namespace {

// Checks shared by every encrypt entry point.
absl::Status CheckSealArgs(std::span<const uint8_t> nonce,
                           std::span<const uint8_t> plaintext,
                           std::span<const uint8_t> aad,
                           std::span<uint8_t> out) {
  if (nonce.size() != kGcmNonceSize) {
    return absl::InvalidArgumentError("AES-GCM nonce must be 12 bytes");
  }
  if (!FitsInt(plaintext.size()) || !FitsInt(aad.size())) {
    return absl::InvalidArgumentError("AES-GCM input too large");
  }
  if (out.size() != plaintext.size() + kGcmTagSize) {
    return absl::InvalidArgumentError(
        "AES-GCM output must be plaintext size + 16 bytes");
  }
  return absl::OkStatus();
}

// NIST SP 800-38D §7.1 (GCM-AE) with a 96-bit IV (§8.2) and a 128-bit tag,
// in a context whose key and IV are set.
absl::Status SealIn(EVP_CIPHER_CTX* ctx, std::span<const uint8_t> plaintext,
                    std::span<const uint8_t> aad, std::span<uint8_t> out) {
  int len = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(),
                        static_cast<int>(aad.size())) != 1) {
    return absl::InternalError("AES-GCM aad failed");
  }
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx, out.data(), &len, plaintext.data(),
                          static_cast<int>(plaintext.size())) != 1) {
      return absl::InternalError("AES-GCM encrypt failed");
    }
    written = len;
  }
  // GCM is a stream mode: Final writes nothing, but the EVP contract wants a
  // buffer with room for a block, so do not point it into `out`.
  uint8_t final_block[16];
  if (EVP_EncryptFinal_ex(ctx, final_block, &len) != 1) {
    return absl::InternalError("AES-GCM encrypt failed");
  }
  written += len;
  if (static_cast<size_t>(written) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
                          static_cast<int>(kGcmTagSize),
                          out.data() + plaintext.size()) != 1) {
    return absl::InternalError("AES-GCM tag failed");
  }
  return absl::OkStatus();
}

// NIST SP 800-38D §7.2 (GCM-AD) in a context whose key and IV are set,
// into `out` (exactly the ciphertext's size). OpenSSL decrypts before it
// checks the tag, so on any failure `out` is wiped before returning: no
// unauthenticated plaintext is left for the caller to use by mistake.
absl::Status OpenInto(EVP_CIPHER_CTX* ctx,
                      std::span<const uint8_t> ciphertext_and_tag,
                      std::span<const uint8_t> aad, std::span<uint8_t> out) {
  const size_t ct_size = ciphertext_and_tag.size() - kGcmTagSize;
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(),
                        static_cast<int>(aad.size())) != 1) {
    return DecryptionFailed();
  }
  int written = 0;
  if (ct_size > 0) {
    if (EVP_DecryptUpdate(ctx, out.data(), &len, ciphertext_and_tag.data(),
                          static_cast<int>(ct_size)) != 1) {
      WipeMemory(out.data(), out.size());
      return DecryptionFailed();
    }
    written = len;
  }
  // SET_TAG takes a non-const pointer but only reads the tag.
  uint8_t tag[kGcmTagSize];
  std::copy(ciphertext_and_tag.begin() + ct_size, ciphertext_and_tag.end(),
            tag);
  // The tag comparison (constant time inside OpenSSL) happens in Final.
  uint8_t final_block[16];
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
                          static_cast<int>(kGcmTagSize), tag) != 1 ||
      EVP_DecryptFinal_ex(ctx, final_block, &len) != 1 ||
      static_cast<size_t>(written + len) != ct_size) {
    WipeMemory(out.data(), out.size());
    return DecryptionFailed();
  }
  return absl::OkStatus();
}

// OpenInto a SecretBytes: on a tag mismatch it is wiped and never returned.
absl::StatusOr<SecretBytes> OpenIn(EVP_CIPHER_CTX* ctx,
                                   std::span<const uint8_t> ciphertext_and_tag,
                                   std::span<const uint8_t> aad) {
  SecretBytes plaintext(ciphertext_and_tag.size() - kGcmTagSize);
  KW_RETURN_IF_ERROR(OpenInto(
      ctx, ciphertext_and_tag, aad, {plaintext.data(), plaintext.size()}));
  return plaintext;
}

bool OpenArgsValid(std::span<const uint8_t> nonce,
                   std::span<const uint8_t> ciphertext_and_tag,
                   std::span<const uint8_t> aad) {
  return nonce.size() == kGcmNonceSize &&
         ciphertext_and_tag.size() >= kGcmTagSize &&
         FitsInt(ciphertext_and_tag.size()) && FitsInt(aad.size());
}

// The per-thread contexts of the one-time-key calls, each initialised once
// with AES-256-GCM in its direction; a call sets only key and IV.
class OnceCtx {
 public:
  explicit OnceCtx(bool encrypt) : ctx_(EVP_CIPHER_CTX_new()) {
    const EVP_CIPHER* cipher = AesGcmCipher(32);
    if (ctx_ != nullptr &&
        EVP_CipherInit_ex2(ctx_.get(), cipher, nullptr, nullptr,
                           encrypt ? 1 : 0, nullptr) != 1) {
      ctx_.reset();
    }
  }
  EVP_CIPHER_CTX* get() const { return ctx_.get(); }

 private:
  CtxPtr ctx_;
};

}  // namespace

absl::Status AesGcm::EncryptInto(std::span<const uint8_t> nonce,
                                 std::span<const uint8_t> plaintext,
                                 std::span<const uint8_t> aad,
                                 std::span<uint8_t> out) const {
  KW_RETURN_IF_ERROR(CheckSealArgs(nonce, plaintext, aad, out));
  EVP_CIPHER_CTX* ctx = Scratch(templates_->encrypt.get());
  ResetOnExit reset{ctx};
  if (ctx == nullptr) return absl::InternalError("AES-GCM context failed");
  // 12 bytes is OpenSSL's default GCM IV length, so no EVP_CTRL_GCM_SET_IVLEN;
  // the key is already in the copied context.
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1) {
    return absl::InternalError("AES-GCM encrypt init failed");
  }
  return SealIn(ctx, plaintext, aad, out);
}

absl::Status AesGcm::EncryptOnceInto(std::span<const uint8_t> key,
                                     std::span<const uint8_t> nonce,
                                     std::span<const uint8_t> plaintext,
                                     std::span<const uint8_t> aad,
                                     std::span<uint8_t> out) {
  if (key.size() != 32) {
    return absl::InvalidArgumentError("one-time AES-GCM key must be 32 bytes");
  }
  KW_RETURN_IF_ERROR(CheckSealArgs(nonce, plaintext, aad, out));
  thread_local OnceCtx once(/*encrypt=*/true);
  EVP_CIPHER_CTX* ctx = once.get();
  if (ctx == nullptr ||
      EVP_EncryptInit_ex2(ctx, nullptr, key.data(), nonce.data(), nullptr) !=
          1) {
    return absl::InternalError("AES-GCM encrypt init failed");
  }
  return SealIn(ctx, plaintext, aad, out);
}

absl::StatusOr<std::vector<uint8_t>> AesGcm::Encrypt(
    std::span<const uint8_t> nonce, std::span<const uint8_t> plaintext,
    std::span<const uint8_t> aad) const {
  // Checked before allocating so a bad nonce costs nothing.
  if (nonce.size() != kGcmNonceSize) {
    return absl::InvalidArgumentError("AES-GCM nonce must be 12 bytes");
  }
  if (!FitsInt(plaintext.size())) {
    return absl::InvalidArgumentError("AES-GCM input too large");
  }
  std::vector<uint8_t> out(plaintext.size() + kGcmTagSize);
  absl::Status status = EncryptInto(nonce, plaintext, aad, out);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<SecretBytes> AesGcm::Decrypt(
    std::span<const uint8_t> nonce, std::span<const uint8_t> ciphertext_and_tag,
    std::span<const uint8_t> aad) const {
  if (!OpenArgsValid(nonce, ciphertext_and_tag, aad)) return DecryptionFailed();
  EVP_CIPHER_CTX* ctx = Scratch(templates_->decrypt.get());
  ResetOnExit reset{ctx};
  if (ctx == nullptr) return absl::InternalError("AES-GCM context failed");
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1) {
    return absl::InternalError("AES-GCM decrypt init failed");
  }
  return OpenIn(ctx, ciphertext_and_tag, aad);
}

absl::StatusOr<SecretBytes> AesGcm::DecryptOnce(
    std::span<const uint8_t> key, std::span<const uint8_t> nonce,
    std::span<const uint8_t> ciphertext_and_tag,
    std::span<const uint8_t> aad) {
  if (key.size() != 32 || !OpenArgsValid(nonce, ciphertext_and_tag, aad)) {
    return DecryptionFailed();
  }
  thread_local OnceCtx once(/*encrypt=*/false);
  EVP_CIPHER_CTX* ctx = once.get();
  if (ctx == nullptr ||
      EVP_DecryptInit_ex2(ctx, nullptr, key.data(), nonce.data(), nullptr) !=
          1) {
    return absl::InternalError("AES-GCM decrypt init failed");
  }
  return OpenIn(ctx, ciphertext_and_tag, aad);
}

// --- AesGcmSegments ---------------------------------------------------------

struct AesGcmSegments::Contexts {
  CtxPtr seal;
  CtxPtr open;
};

AesGcmSegments::AesGcmSegments(std::unique_ptr<Contexts> contexts)
    : contexts_(std::move(contexts)) {}
AesGcmSegments::~AesGcmSegments() = default;  // EVP_CIPHER_CTX_free cleanses
AesGcmSegments::AesGcmSegments(AesGcmSegments&&) noexcept = default;
AesGcmSegments& AesGcmSegments::operator=(AesGcmSegments&&) noexcept = default;

absl::StatusOr<AesGcmSegments> AesGcmSegments::Create(
    std::span<const uint8_t> key) {
  if (key.size() != 32) {
    return absl::InvalidArgumentError("AES-256-GCM key must be 32 bytes");
  }
  const EVP_CIPHER* cipher = AesGcmCipher(32);
  auto c = std::make_unique<Contexts>();
  c->seal.reset(EVP_CIPHER_CTX_new());
  c->open.reset(EVP_CIPHER_CTX_new());
  if (c->seal == nullptr || c->open == nullptr ||
      EVP_EncryptInit_ex(c->seal.get(), cipher, nullptr, key.data(),
                         nullptr) != 1 ||
      EVP_DecryptInit_ex(c->open.get(), cipher, nullptr, key.data(),
                         nullptr) != 1) {
    return absl::InternalError("AES-GCM key setup failed");
  }
  return AesGcmSegments(std::move(c));
}

absl::Status AesGcmSegments::SealInto(std::span<const uint8_t> nonce,
                                      std::span<const uint8_t> plaintext,
                                      std::span<const uint8_t> aad,
                                      std::span<uint8_t> out) {
  KW_RETURN_IF_ERROR(CheckSealArgs(nonce, plaintext, aad, out));
  // The key stays set; a new IV starts a new GCM message.
  if (EVP_EncryptInit_ex(contexts_->seal.get(), nullptr, nullptr, nullptr,
                         nonce.data()) != 1) {
    return absl::InternalError("AES-GCM encrypt init failed");
  }
  return SealIn(contexts_->seal.get(), plaintext, aad, out);
}

absl::Status AesGcmSegments::OpenInto(
    std::span<const uint8_t> nonce,
    std::span<const uint8_t> ciphertext_and_tag, std::span<const uint8_t> aad,
    std::span<uint8_t> out) {
  if (!OpenArgsValid(nonce, ciphertext_and_tag, aad) ||
      out.size() != ciphertext_and_tag.size() - kGcmTagSize) {
    WipeMemory(out.data(), out.size());
    return DecryptionFailed();
  }
  if (EVP_DecryptInit_ex(contexts_->open.get(), nullptr, nullptr, nullptr,
                         nonce.data()) != 1) {
    return absl::InternalError("AES-GCM decrypt init failed");
  }
  return ::keywarden::crypto::OpenInto(contexts_->open.get(),
                                       ciphertext_and_tag, aad, out);
}

}  // namespace keywarden::crypto
