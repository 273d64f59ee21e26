#include "keywarden/api/kmip/key_crypto.h"

#include <string>
#include <vector>

#include "keywarden/api/kmip/result_reason.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/crypto/key_ops.h"
#include "keywarden/crypto/random.h"

namespace keywarden::api::kmip {
namespace {

std::string AsString(std::span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}
std::span<const uint8_t> AsSpan(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

absl::Status Invalid(std::string_view message) {
  return KmipError(ResultReason::kInvalidField, message);
}

std::optional<crypto::HashAlgorithm> HmacHash(CryptographicAlgorithm a) {
  switch (a) {
    case CryptographicAlgorithm::kHmacSha256:
      return crypto::HashAlgorithm::kSha256;
    case CryptographicAlgorithm::kHmacSha384:
      return crypto::HashAlgorithm::kSha384;
    case CryptographicAlgorithm::kHmacSha512:
      return crypto::HashAlgorithm::kSha512;
    default:
      return std::nullopt;
  }
}

absl::StatusOr<crypto::HashAlgorithm> Hash(HashingAlgorithm h) {
  switch (h) {
    case HashingAlgorithm::kSha256:
      return crypto::HashAlgorithm::kSha256;
    case HashingAlgorithm::kSha384:
      return crypto::HashAlgorithm::kSha384;
    case HashingAlgorithm::kSha512:
      return crypto::HashAlgorithm::kSha512;
    default:
      return Invalid("the hashing algorithm must be SHA-256, SHA-384 or SHA-512");
  }
}

absl::Status CheckAesKey(const ManagedObject& key) {
  if (key.object_type != ObjectType::kSymmetricKey ||
      key.algorithm != CryptographicAlgorithm::kAes) {
    return Invalid("Encrypt and Decrypt need an AES key");
  }
  return absl::OkStatus();
}

BlockCipherMode ModeOf(const std::optional<CryptographicParameters>& p) {
  return p && p->block_cipher_mode ? *p->block_cipher_mode
                                   : BlockCipherMode::kGcm;
}

absl::Status CheckCbcPadding(const std::optional<CryptographicParameters>& p) {
  if (p && p->padding_method && *p->padding_method != PaddingMethod::kPkcs5) {
    return Invalid("AES-CBC uses PKCS#5 padding");
  }
  return absl::OkStatus();
}

struct Signature {
  crypto::RsaPadding padding;
  crypto::HashAlgorithm hash;
};

absl::StatusOr<Signature> SignatureOf(
    const std::optional<CryptographicParameters>& p) {
  if (!p) return Invalid("Sign and Signature Verify need Cryptographic Parameters");
  if (p->digital_signature_algorithm) {
    switch (*p->digital_signature_algorithm) {
      case DigitalSignatureAlgorithm::kSha256WithRsaEncryption:
        return Signature{crypto::RsaPadding::kPkcs1v15, crypto::HashAlgorithm::kSha256};
      case DigitalSignatureAlgorithm::kSha384WithRsaEncryption:
        return Signature{crypto::RsaPadding::kPkcs1v15, crypto::HashAlgorithm::kSha384};
      case DigitalSignatureAlgorithm::kSha512WithRsaEncryption:
        return Signature{crypto::RsaPadding::kPkcs1v15, crypto::HashAlgorithm::kSha512};
      case DigitalSignatureAlgorithm::kRsassaPss: {
        KW_ASSIGN_OR_RETURN(crypto::HashAlgorithm h,
                            Hash(p->hashing_algorithm.value_or(HashingAlgorithm::kSha256)));
        return Signature{crypto::RsaPadding::kPss, h};
      }
    }
    return Invalid("unsupported digital signature algorithm");
  }
  if (p->cryptographic_algorithm &&
      *p->cryptographic_algorithm != CryptographicAlgorithm::kRsa) {
    return Invalid("only RSA signatures are supported");
  }
  PaddingMethod pad = p->padding_method.value_or(PaddingMethod::kPkcs1v15);
  if (pad != PaddingMethod::kPkcs1v15 && pad != PaddingMethod::kPss) {
    return Invalid("RSA signatures use PKCS#1 v1.5 or PSS padding");
  }
  KW_ASSIGN_OR_RETURN(crypto::HashAlgorithm h,
                      Hash(p->hashing_algorithm.value_or(HashingAlgorithm::kSha256)));
  return Signature{pad == PaddingMethod::kPss ? crypto::RsaPadding::kPss
                                              : crypto::RsaPadding::kPkcs1v15,
                   h};
}

}  // namespace

absl::StatusOr<ManagedObject> GenerateSymmetricKey(
    CryptographicAlgorithm algorithm, std::optional<int32_t> bits) {
  ManagedObject o;
  o.object_type = ObjectType::kSymmetricKey;
  o.key_format_type = KeyFormatType::kRaw;
  o.algorithm = algorithm;
  if (algorithm == CryptographicAlgorithm::kAes) {
    if (!bits || (*bits != 128 && *bits != 192 && *bits != 256)) {
      return Invalid("an AES key's Cryptographic Length is 128, 192 or 256");
    }
  } else if (std::optional<crypto::HashAlgorithm> h = HmacHash(algorithm)) {
    int32_t def = *h == crypto::HashAlgorithm::kSha256   ? 256
                  : *h == crypto::HashAlgorithm::kSha384 ? 384
                                                         : 512;
    bits = bits.value_or(def);
    if (*bits < 128 || *bits > 1024 || *bits % 8 != 0) {
      return Invalid("an HMAC key's Cryptographic Length is 128 to 1024 bits, "
                     "a multiple of 8");
    }
  } else {
    return Invalid("Create makes AES and HMAC-SHA256/384/512 keys");
  }
  o.length = *bits;
  o.material = crypto::RandomSecret(static_cast<size_t>(*bits / 8));
  return o;
}

absl::StatusOr<std::pair<ManagedObject, ManagedObject>> GenerateRsaKeyPair(
    int32_t bits) {
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    return Invalid("an RSA key's Cryptographic Length is 2048, 3072 or 4096");
  }
  KW_ASSIGN_OR_RETURN(crypto::RsaKeyPairDer pair, crypto::GenerateRsaKeyPairDer(bits));
  ManagedObject priv;
  priv.object_type = ObjectType::kPrivateKey;
  priv.key_format_type = KeyFormatType::kPkcs8;
  priv.algorithm = CryptographicAlgorithm::kRsa;
  priv.length = bits;
  priv.material = std::move(pair.private_key_der);
  ManagedObject pub;
  pub.object_type = ObjectType::kPublicKey;
  pub.key_format_type = KeyFormatType::kX509;
  pub.algorithm = CryptographicAlgorithm::kRsa;
  pub.length = bits;
  pub.material = SecretBytes(std::span<const uint8_t>(pair.public_key_der));
  return std::make_pair(std::move(priv), std::move(pub));
}

absl::StatusOr<EncryptResponse> EncryptWith(const ManagedObject& key,
                                            const EncryptRequest& req) {
  KW_RETURN_IF_ERROR(CheckAesKey(key));
  EncryptResponse res;
  res.unique_identifier = req.unique_identifier;
  const BlockCipherMode mode = ModeOf(req.parameters);
  if (mode == BlockCipherMode::kGcm) {
    int32_t tag = req.parameters ? req.parameters->tag_length.value_or(16) : 16;
    if (tag < 12 || tag > 16) return Invalid("the AES-GCM tag is 12 to 16 bytes");
    std::string iv;
    if (req.iv_counter_nonce) {
      iv = *req.iv_counter_nonce;
    } else {
      iv.assign(12, '\0');
      crypto::RandomPublicBytes({reinterpret_cast<uint8_t*>(iv.data()), iv.size()});
      res.iv_counter_nonce = iv;
    }
    if (iv.size() < 12 || iv.size() > 64) return Invalid("the AES-GCM IV is 12 to 64 bytes");
    const std::string aad = req.aad.value_or("");
    KW_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed,
                        crypto::AesGcmSeal(key.material.span(), AsSpan(iv),
                                           req.data.span(), AsSpan(aad),
                                           static_cast<size_t>(tag)));
    const size_t n = sealed.size() - static_cast<size_t>(tag);
    res.data = AsString({sealed.data(), n});
    res.tag = AsString({sealed.data() + n, static_cast<size_t>(tag)});
    return res;
  }
  if (mode == BlockCipherMode::kCbc) {
    KW_RETURN_IF_ERROR(CheckCbcPadding(req.parameters));
    std::string iv;
    if (req.iv_counter_nonce) {
      iv = *req.iv_counter_nonce;
    } else {
      iv.assign(16, '\0');
      crypto::RandomPublicBytes({reinterpret_cast<uint8_t*>(iv.data()), iv.size()});
      res.iv_counter_nonce = iv;
    }
    if (iv.size() != 16) return Invalid("the AES-CBC IV is 16 bytes");
    KW_ASSIGN_OR_RETURN(std::vector<uint8_t> out,
                        crypto::AesCbcEncrypt(key.material.span(), AsSpan(iv),
                                              req.data.span()));
    res.data = AsString(out);
    return res;
  }
  return Invalid("the block cipher mode must be GCM or CBC");
}

absl::StatusOr<DecryptResponse> DecryptWith(const ManagedObject& key,
                                            const DecryptRequest& req) {
  KW_RETURN_IF_ERROR(CheckAesKey(key));
  if (!req.iv_counter_nonce) return Invalid("Decrypt needs the IV");
  const BlockCipherMode mode = ModeOf(req.parameters);
  absl::StatusOr<SecretBytes> plain;
  if (mode == BlockCipherMode::kGcm) {
    if (!req.tag) return Invalid("AES-GCM Decrypt needs the tag");
    const std::string aad = req.aad.value_or("");
    plain = crypto::AesGcmOpen(key.material.span(), AsSpan(*req.iv_counter_nonce),
                               AsSpan(req.data), AsSpan(*req.tag), AsSpan(aad));
  } else if (mode == BlockCipherMode::kCbc) {
    KW_RETURN_IF_ERROR(CheckCbcPadding(req.parameters));
    if (req.iv_counter_nonce->size() != 16) return Invalid("the AES-CBC IV is 16 bytes");
    plain = crypto::AesCbcDecrypt(key.material.span(), AsSpan(*req.iv_counter_nonce),
                                  AsSpan(req.data));
  } else {
    return Invalid("the block cipher mode must be GCM or CBC");
  }
  // One answer for every failure: no padding or tag oracle.
  if (!plain.ok()) return absl::DataLossError("decryption failed");
  return DecryptResponse{req.unique_identifier, *std::move(plain)};
}

absl::StatusOr<MacResponse> MacWith(const ManagedObject& key, const MacRequest& req) {
  if (key.object_type != ObjectType::kSymmetricKey || !key.algorithm) {
    return Invalid("MAC needs a symmetric key");
  }
  std::optional<crypto::HashAlgorithm> hash = HmacHash(*key.algorithm);
  if (req.parameters && req.parameters->cryptographic_algorithm) {
    std::optional<crypto::HashAlgorithm> asked =
        HmacHash(*req.parameters->cryptographic_algorithm);
    if (!asked) return Invalid("MAC is HMAC-SHA256, HMAC-SHA384 or HMAC-SHA512");
    if (hash && *hash != *asked) return Invalid("the MAC algorithm is not the key's");
    hash = asked;
  }
  if (!hash) return Invalid("MAC needs an HMAC key or an HMAC algorithm");
  std::vector<uint8_t> mac = crypto::Hmac(*hash, key.material.span(), req.data.span());
  return MacResponse{req.unique_identifier, AsString(mac)};
}

absl::StatusOr<SignResponse> SignWith(const ManagedObject& private_key,
                                      const SignRequest& req) {
  if (private_key.object_type != ObjectType::kPrivateKey ||
      private_key.algorithm != CryptographicAlgorithm::kRsa) {
    return Invalid("Sign needs an RSA private key");
  }
  KW_ASSIGN_OR_RETURN(Signature s, SignatureOf(req.parameters));
  absl::StatusOr<std::vector<uint8_t>> sig =
      crypto::RsaSign(private_key.material.span(), s.padding, s.hash, req.data.span());
  if (!sig.ok()) return KmipError(ResultReason::kCryptographicFailure, "signing failed");
  return SignResponse{req.unique_identifier, AsString(*sig)};
}

absl::StatusOr<SignatureVerifyResponse> VerifyWith(
    const ManagedObject& public_key, const SignatureVerifyRequest& req) {
  if (public_key.object_type != ObjectType::kPublicKey ||
      public_key.algorithm != CryptographicAlgorithm::kRsa) {
    return Invalid("Signature Verify needs an RSA public key");
  }
  KW_ASSIGN_OR_RETURN(Signature s, SignatureOf(req.parameters));
  absl::StatusOr<bool> ok = crypto::RsaVerify(public_key.material.span(), s.padding,
                                              s.hash, req.data.span(),
                                              AsSpan(req.signature));
  if (!ok.ok()) return KmipError(ResultReason::kCryptographicFailure, "verification failed");
  return SignatureVerifyResponse{req.unique_identifier,
                                 *ok ? ValidityIndicator::kValid
                                     : ValidityIndicator::kInvalid};
}

}  // namespace keywarden::api::kmip
