#include "keywarden/crypto/rsa_oaep.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <climits>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/status_macros.h"

namespace keywarden::crypto {
namespace {

// The one message every Decrypt failure returns (rsa_oaep.h). RFC 8017
// §7.1.2 Note: an implementation must not let an opponent tell the
// decryption-error cases apart (Manger's attack on OAEP), whether by
// message, code or (as far as OpenSSL allows) timing.
constexpr char kDecryptionFailed[] = "decryption failed";

// The hash and the MGF1 hash of Key Protect's RSAES_OAEP_SHA_256
// (keyprotect-api.md §8.2: Go's rsa.EncryptOAEP(sha256.New(), ..., nil)).
constexpr char kOaepDigest[] = "SHA2-256";

constexpr int kMinBits = 2048;
constexpr int kMaxBits = 8192;

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct BnDeleter {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct EncoderCtxDeleter {
  void operator()(OSSL_ENCODER_CTX* p) const { OSSL_ENCODER_CTX_free(p); }
};
struct P8InfoDeleter {
  void operator()(PKCS8_PRIV_KEY_INFO* p) const { PKCS8_PRIV_KEY_INFO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// OpenSSL records why a call failed on a per-thread error queue. Whatever
// runs next on this thread (an Asio TLS stream reads that queue) must not
// see our leftovers, and the reason must not surface in a message either,
// so every failure path empties it.
absl::Status Fail(absl::Status status) {
  ERR_clear_error();
  return status;
}

absl::Status DecryptionFailed() {
  return Fail(absl::InvalidArgumentError(kDecryptionFailed));
}

// Sets RSAES-OAEP with SHA-256 for the hash and MGF1 and the empty label
// (RFC 8017 §7.1, "L ... the default value for L ... is the empty string"):
// OpenSSL's default label is empty, so none is set.
bool SetOaepSha256(EVP_PKEY_CTX* ctx) {
  return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, kOaepDigest, nullptr) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, kOaepDigest, nullptr) == 1;
}

// PKCS#8 PrivateKeyInfo (RFC 5208 §5) in DER. OpenSSL's encoder writes into
// a memory BIO whose buffer it hands over to us; both it and the PKCS#8
// structure it builds on the way are freed with OPENSSL_clear_free inside
// OpenSSL. The handed-over buffer is copied into SecretBytes and cleansed
// here.
absl::StatusOr<SecretBytes> PrivateKeyDer(const EVP_PKEY* pkey) {
  std::unique_ptr<OSSL_ENCODER_CTX, EncoderCtxDeleter> ctx(
      OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_KEYPAIR, "DER",
                                    "PrivateKeyInfo", nullptr));
  if (ctx == nullptr || OSSL_ENCODER_CTX_get_num_encoders(ctx.get()) == 0) {
    return Fail(absl::InternalError("no PKCS#8 encoder for RSA"));
  }
  unsigned char* der = nullptr;
  size_t der_len = 0;
  if (OSSL_ENCODER_to_data(ctx.get(), &der, &der_len) != 1 || der == nullptr) {
    return Fail(absl::InternalError("PKCS#8 encoding failed"));
  }
  SecretBytes out(der, der_len);
  OPENSSL_clear_free(der, der_len);
  return out;
}

// SubjectPublicKeyInfo (RFC 5280 §4.1) as PEM ("-----BEGIN PUBLIC KEY-----",
// RFC 7468 §13), the payload of GET /import_token (keyprotect-api.md §8.1).
absl::StatusOr<std::string> PublicKeyPem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) {
    return Fail(absl::InternalError("PEM encoding of the public key failed"));
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) {
    return Fail(absl::InternalError("PEM encoding of the public key failed"));
  }
  return std::string(data, static_cast<size_t>(len));
}

// Parses exactly one PKCS#8 PrivateKeyInfo (RFC 5208 §5) holding an RSA
// key: no PKCS#1 RSAPrivateKey, no EncryptedPrivateKeyInfo, no trailing
// bytes. (OpenSSL's DER decoder, even told "PrivateKeyInfo", also takes
// PKCS#1, hence the explicit ASN.1 step.)
// Freeing the PKCS8_PRIV_KEY_INFO cleanses its copy of the key octets.
// nullptr on any failure; the caller says why, uniformly.
PkeyPtr ParsePrivateKeyDer(std::span<const uint8_t> der) {
  if (der.empty() || der.size() > LONG_MAX) return nullptr;
  const unsigned char* p = der.data();
  std::unique_ptr<PKCS8_PRIV_KEY_INFO, P8InfoDeleter> p8(
      d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size())));
  if (p8 == nullptr || p != der.data() + der.size()) return nullptr;
  PkeyPtr pkey(EVP_PKCS82PKEY(p8.get()));
  // "RSA" is rsaEncryption only; RSASSA-PSS keys cannot decrypt.
  if (pkey == nullptr || !EVP_PKEY_is_a(pkey.get(), "RSA") ||
      EVP_PKEY_get_bits(pkey.get()) < kMinBits ||
      EVP_PKEY_get_bits(pkey.get()) > kMaxBits) {
    return nullptr;
  }
  return pkey;
}

// Reads the first PEM block, which must be labelled "PUBLIC KEY" (RFC 7468
// §13, SubjectPublicKeyInfo), carry no headers and hold an RSA key in DER
// with nothing after it. PEM_read_bio_PUBKEY would also take PKCS#1's
// "RSA PUBLIC KEY"; the label is checked here instead.
PkeyPtr ParsePublicKeyPem(std::string_view pem) {
  if (pem.empty() || pem.size() > INT_MAX) return nullptr;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return nullptr;
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
    return nullptr;
  }
  const bool spki = std::string_view(name) == PEM_STRING_PUBLIC &&
                    std::string_view(header).empty();
  PkeyPtr pkey;
  if (spki) {
    const unsigned char* p = data;
    pkey.reset(d2i_PUBKEY(nullptr, &p, len));
    if (p != data + len) pkey.reset();
  }
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  if (pkey == nullptr || !EVP_PKEY_is_a(pkey.get(), "RSA")) return nullptr;
  return pkey;
}

}  // namespace

absl::StatusOr<RsaKeyPair> GenerateRsaKeyPair(int bits) {
  if (bits < kMinBits || bits > kMaxBits || bits % 1024 != 0) {
    return absl::InvalidArgumentError(
        "RSA key size must be 2048 to 8192 bits, a multiple of 1024");
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  std::unique_ptr<BIGNUM, BnDeleter> e(BN_new());
  // e = 65537 (F4): RFC 8017 §3.1 allows any odd e >= 3; 65537 is what every
  // peer expects and the smallest FIPS 186-5 permits (2^16 < e < 2^256).
  if (ctx == nullptr || e == nullptr || BN_set_word(e.get(), RSA_F4) != 1 ||
      EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1 ||
      EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()) != 1) {
    return Fail(absl::InternalError("RSA key generation setup failed"));
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1 || raw == nullptr) {
    return Fail(absl::InternalError("RSA key generation failed"));
  }
  // Freeing the EVP_PKEY clears its private BIGNUMs (BN_clear_free).
  PkeyPtr pkey(raw);
  RsaKeyPair pair;
  KW_ASSIGN_OR_RETURN(pair.private_key_der, PrivateKeyDer(pkey.get()));
  KW_ASSIGN_OR_RETURN(pair.public_key_pem, PublicKeyPem(pkey.get()));
  return pair;
}

// RSAES-OAEP-DECRYPT, RFC 8017 §7.1.2, with OpenSSL doing steps 2 and 3.
absl::StatusOr<SecretBytes> RsaOaepSha256Decrypt(
    std::span<const uint8_t> private_key_der,
    std::span<const uint8_t> ciphertext) {
  PkeyPtr pkey = ParsePrivateKeyDer(private_key_der);
  if (pkey == nullptr) return DecryptionFailed();
  // §7.1.2 step 1.b: the ciphertext is exactly k octets. OpenSSL would take a
  // shorter one as an integer with leading zeros; the spec does not.
  const int k = EVP_PKEY_get_size(pkey.get());
  if (k <= 0 || ciphertext.size() != static_cast<size_t>(k)) {
    return DecryptionFailed();
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
      !SetOaepSha256(ctx.get())) {
    return DecryptionFailed();
  }
  // The message is at most k - 2hLen - 2 octets (§7.1.1 step 1.b); OpenSSL
  // wants room for k. The buffer is a SecretBytes so the unpadded block and
  // the plaintext are wiped whatever happens.
  size_t out_len = static_cast<size_t>(k);
  SecretBytes plaintext(out_len);
  if (EVP_PKEY_decrypt(ctx.get(), plaintext.data(), &out_len,
                       ciphertext.data(), ciphertext.size()) != 1 ||
      out_len > static_cast<size_t>(k)) {
    return DecryptionFailed();
  }
  plaintext.Truncate(out_len);
  return plaintext;
}

// RSAES-OAEP-ENCRYPT, RFC 8017 §7.1.1.
absl::StatusOr<std::vector<uint8_t>> RsaOaepSha256Encrypt(
    std::string_view public_key_pem, std::span<const uint8_t> plaintext) {
  PkeyPtr pkey = ParsePublicKeyPem(public_key_pem);
  if (pkey == nullptr) {
    return Fail(absl::InvalidArgumentError(
        "not a PEM RSA public key (-----BEGIN PUBLIC KEY-----)"));
  }
  const int k = EVP_PKEY_get_size(pkey.get());
  // §7.1.1 step 1.b: mLen <= k - 2hLen - 2, hLen = 32.
  if (k < 2 * 32 + 2 ||
      plaintext.size() > static_cast<size_t>(k) - 2 * 32 - 2) {
    return Fail(absl::InvalidArgumentError(
        "plaintext too long for RSA-OAEP-SHA256 under this key"));
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      !SetOaepSha256(ctx.get())) {
    return Fail(absl::InternalError("RSA-OAEP setup failed"));
  }
  static const uint8_t kEmpty = 0;
  const uint8_t* in = plaintext.empty() ? &kEmpty : plaintext.data();
  size_t out_len = static_cast<size_t>(k);
  std::vector<uint8_t> out(out_len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &out_len, in,
                       plaintext.size()) != 1 ||
      out_len != static_cast<size_t>(k)) {
    return Fail(absl::InternalError("RSA-OAEP encryption failed"));
  }
  return out;
}

}  // namespace keywarden::crypto
