#include "keywarden/crypto/key_ops.h"
#include "keywarden/crypto/ciphers.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <climits>
#include <cstdlib>
#include <memory>

#include "absl/status/status.h"

namespace keywarden::crypto {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// Empties OpenSSL's per-thread error queue so the next user (a TLS stream)
// does not see our failure, and no OpenSSL text reaches a message.
absl::Status Fail(absl::Status status) {
  ERR_clear_error();
  return status;
}

const EVP_MD* Md(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha256:
      return EVP_sha256();
    case HashAlgorithm::kSha384:
      return EVP_sha384();
    case HashAlgorithm::kSha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

const uint8_t kEmpty = 0;
const uint8_t* Ptr(std::span<const uint8_t> s) {
  return s.empty() ? &kEmpty : s.data();
}

}  // namespace

std::vector<uint8_t> Hmac(HashAlgorithm hash, std::span<const uint8_t> key,
                          std::span<const uint8_t> data) {
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (HMAC(Md(hash), Ptr(key), static_cast<int>(key.size()), Ptr(data),
           data.size(), out.data(), &len) == nullptr) {
    std::abort();  // HMAC cannot fail on valid input: a broken library.
  }
  out.resize(len);
  return out;
}

absl::StatusOr<std::vector<uint8_t>> AesCbcEncrypt(
    std::span<const uint8_t> key, std::span<const uint8_t> iv,
    std::span<const uint8_t> plaintext) {
  const EVP_CIPHER* cipher = AesCbcCipher(key.size());
  if (cipher == nullptr || iv.size() != 16) {
    return absl::InvalidArgumentError("AES-CBC needs a 16, 24 or 32-byte key "
                                      "and a 16-byte IV");
  }
  if (plaintext.size() > INT_MAX - 32) {
    return absl::InvalidArgumentError("plaintext too large");
  }
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  std::vector<uint8_t> out(plaintext.size() + 16);
  int n = 0, m = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), iv.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &n, Ptr(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + n, &m) != 1) {
    return Fail(absl::InternalError("AES-CBC encryption failed"));
  }
  out.resize(static_cast<size_t>(n + m));
  return out;
}

absl::StatusOr<SecretBytes> AesCbcDecrypt(std::span<const uint8_t> key,
                                          std::span<const uint8_t> iv,
                                          std::span<const uint8_t> ciphertext) {
  const EVP_CIPHER* cipher = AesCbcCipher(key.size());
  if (cipher == nullptr || iv.size() != 16) {
    return absl::InvalidArgumentError("AES-CBC needs a 16, 24 or 32-byte key "
                                      "and a 16-byte IV");
  }
  if (ciphertext.empty() || ciphertext.size() % 16 != 0 ||
      ciphertext.size() > INT_MAX - 32) {
    return absl::DataLossError("decryption failed");
  }
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  SecretBytes out(ciphertext.size() + 16);
  int n = 0, m = 0;
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, key.data(), iv.data()) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out.data(), &n, ciphertext.data(),
                        static_cast<int>(ciphertext.size())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + n, &m) != 1) {
    return Fail(absl::DataLossError("decryption failed"));
  }
  return SecretBytes(std::span<const uint8_t>(out.data(),
                                              static_cast<size_t>(n + m)));
}

absl::StatusOr<std::vector<uint8_t>> AesGcmSeal(
    std::span<const uint8_t> key, std::span<const uint8_t> iv,
    std::span<const uint8_t> plaintext, std::span<const uint8_t> aad,
    size_t tag_size) {
  const EVP_CIPHER* cipher = AesGcmCipher(key.size());
  if (cipher == nullptr || iv.size() < 12 || iv.size() > 64 ||
      tag_size < 12 || tag_size > 16 || plaintext.size() > INT_MAX - 32 ||
      aad.size() > INT_MAX) {
    return absl::InvalidArgumentError(
        "AES-GCM needs a 16, 24 or 32-byte key, a 12 to 64-byte IV and a 12 "
        "to 16-byte tag");
  }
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  std::vector<uint8_t> out(plaintext.size() + tag_size);
  int n = 0, m = 0, a = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN,
                          static_cast<int>(iv.size()), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data()) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &a, aad.data(),
                                         static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &n, Ptr(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + n, &m) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG,
                          static_cast<int>(tag_size),
                          out.data() + n + m) != 1) {
    return Fail(absl::InternalError("AES-GCM encryption failed"));
  }
  out.resize(static_cast<size_t>(n + m) + tag_size);
  return out;
}

absl::StatusOr<SecretBytes> AesGcmOpen(std::span<const uint8_t> key,
                                       std::span<const uint8_t> iv,
                                       std::span<const uint8_t> ciphertext,
                                       std::span<const uint8_t> tag,
                                       std::span<const uint8_t> aad) {
  const EVP_CIPHER* cipher = AesGcmCipher(key.size());
  if (cipher == nullptr || iv.size() < 12 || iv.size() > 64 ||
      tag.size() < 12 || tag.size() > 16 || ciphertext.size() > INT_MAX - 32 ||
      aad.size() > INT_MAX) {
    return absl::DataLossError("decryption failed");
  }
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  SecretBytes out(ciphertext.size() + 16);
  std::vector<uint8_t> tag_copy(tag.begin(), tag.end());
  int n = 0, m = 0, a = 0;
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN,
                          static_cast<int>(iv.size()), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data()) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &a, aad.data(),
                                         static_cast<int>(aad.size())) != 1) ||
      EVP_DecryptUpdate(ctx.get(), out.data(), &n, Ptr(ciphertext),
                        static_cast<int>(ciphertext.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG,
                          static_cast<int>(tag_copy.size()),
                          tag_copy.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + n, &m) != 1) {
    return Fail(absl::DataLossError("decryption failed"));
  }
  return SecretBytes(std::span<const uint8_t>(out.data(),
                                              static_cast<size_t>(n + m)));
}

namespace {

absl::StatusOr<PkeyPtr> ParsePrivate(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  PkeyPtr key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
  if (key == nullptr || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
    return Fail(absl::InvalidArgumentError("not an RSA private key"));
  }
  return key;
}

absl::StatusOr<PkeyPtr> ParsePublic(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (key == nullptr) {
    // PKCS#1 RSAPublicKey, as some clients register.
    p = der.data();
    key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p,
                            static_cast<long>(der.size())));
  }
  if (key == nullptr || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
    return Fail(absl::InvalidArgumentError("not an RSA public key"));
  }
  return key;
}

bool SetPadding(EVP_PKEY_CTX* pctx, RsaPadding padding) {
  if (padding == RsaPadding::kPkcs1v15) {
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  }
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> RsaSign(
    std::span<const uint8_t> private_key_der, RsaPadding padding,
    HashAlgorithm hash, std::span<const uint8_t> data) {
  absl::StatusOr<PkeyPtr> key = ParsePrivate(private_key_der);
  if (!key.ok()) return key.status();
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  size_t len = 0;
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), &pctx, Md(hash), nullptr, key->get()) != 1 ||
      !SetPadding(pctx, padding) ||
      EVP_DigestSign(ctx.get(), nullptr, &len, Ptr(data), data.size()) != 1) {
    return Fail(absl::InternalError("RSA signing failed"));
  }
  std::vector<uint8_t> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, Ptr(data), data.size()) != 1) {
    return Fail(absl::InternalError("RSA signing failed"));
  }
  sig.resize(len);
  return sig;
}

absl::StatusOr<bool> RsaVerify(std::span<const uint8_t> public_key_der,
                               RsaPadding padding, HashAlgorithm hash,
                               std::span<const uint8_t> data,
                               std::span<const uint8_t> signature) {
  absl::StatusOr<PkeyPtr> key = ParsePublic(public_key_der);
  if (!key.ok()) return key.status();
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), &pctx, Md(hash), nullptr, key->get()) != 1 ||
      !SetPadding(pctx, padding)) {
    return Fail(absl::InternalError("RSA verification failed"));
  }
  int ok = EVP_DigestVerify(ctx.get(), Ptr(signature), signature.size(),
                            Ptr(data), data.size());
  ERR_clear_error();
  return ok == 1;
}

absl::StatusOr<RsaKeyPairDer> GenerateRsaKeyPairDer(int bits) {
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    return absl::InvalidArgumentError("RSA keys are 2048, 3072 or 4096 bits");
  }
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr));
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return Fail(absl::InternalError("RSA key generation failed"));
  }
  PkeyPtr key(raw);
  RsaKeyPairDer out;
  // PKCS#8 PrivateKeyInfo.
  PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(key.get());
  if (p8 == nullptr) return Fail(absl::InternalError("RSA encoding failed"));
  int len = i2d_PKCS8_PRIV_KEY_INFO(p8, nullptr);
  if (len <= 0) {
    PKCS8_PRIV_KEY_INFO_free(p8);
    return Fail(absl::InternalError("RSA encoding failed"));
  }
  out.private_key_der = SecretBytes(static_cast<size_t>(len));
  unsigned char* w = out.private_key_der.data();
  i2d_PKCS8_PRIV_KEY_INFO(p8, &w);
  PKCS8_PRIV_KEY_INFO_free(p8);
  len = i2d_PUBKEY(key.get(), nullptr);
  if (len <= 0) return Fail(absl::InternalError("RSA encoding failed"));
  out.public_key_der.resize(static_cast<size_t>(len));
  w = out.public_key_der.data();
  i2d_PUBKEY(key.get(), &w);
  return out;
}

absl::StatusOr<std::vector<uint8_t>> CertificatePemToDer(std::string_view pem) {
  if (pem.empty() || pem.size() > 64 * 1024) {
    return absl::InvalidArgumentError("not a PEM certificate");
  }
  std::unique_ptr<BIO, BioDeleter> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<X509, X509Deleter> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return Fail(absl::InvalidArgumentError("not a PEM certificate"));
  }
  // Exactly one: a second certificate would be silently ignored otherwise.
  std::unique_ptr<X509, X509Deleter> extra(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (extra != nullptr) {
    return absl::InvalidArgumentError("more than one certificate in the PEM");
  }
  int len = i2d_X509(cert.get(), nullptr);
  if (len <= 0) return Fail(absl::InvalidArgumentError("not a PEM certificate"));
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* w = der.data();
  i2d_X509(cert.get(), &w);
  return der;
}

}  // namespace keywarden::crypto
