#include "keywarden/client/envelope.h"

#include <algorithm>
#include <array>
#include <utility>

#include "keywarden/client/errors.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/random.h"

namespace keywarden::client {
namespace {

// What every damaged stream reports: which segment failed, or how, would
// only help whoever damaged it.
absl::Status StreamDamaged() {
  return absl::InvalidArgumentError(
      "decryption failed: the object was truncated, extended or modified, "
      "or is not the one its header was written for");
}

// Reads until `out` is full or the input ends; returns the bytes read.
absl::StatusOr<size_t> ReadFull(ByteSource& in, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    KW_ASSIGN_OR_RETURN(size_t n, in.Read(out.subspan(done)));
    if (n == 0) break;
    done += n;
  }
  return done;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                 (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

// The server's refusal, with what was being done and to which key: the
// server's message alone ("Key is not in a valid state") does not say that
// an object is at stake.
absl::Status KeyError(std::string_view doing, const absl::Status& s) {
  return absl::Status(s.code(),
                      AbslView(StrCat(doing, ": ", StdView(s.message()))));
}

}  // namespace

absl::Status SealStream(const SecretBytes& dek, const EnvelopeHeader& header,
                        ByteSource& in, ByteSink& out,
                        const EnvelopeProgress& progress) {
  KW_ASSIGN_OR_RETURN(std::vector<uint8_t> encoded,
                      EncodeEnvelopeHeader(header));
  KW_ASSIGN_OR_RETURN(SegmentCipher cipher,
                      SegmentCipher::Create(dek, header.nonce_prefix, encoded));
  KW_RETURN_IF_ERROR(out.Write(encoded));

  // A full segment is the last only if the input ends right after it, so
  // one segment is read ahead. Plaintext sits in wiped buffers.
  SecretBytes current(kEnvelopeSegmentSize), next(kEnvelopeSegmentSize);
  std::vector<uint8_t> sealed(kEnvelopeSealedSegmentSize);
  KW_ASSIGN_OR_RETURN(size_t n, ReadFull(in, {current.data(), current.size()}));
  uint64_t done = 0;
  for (;;) {
    size_t ahead = 0;
    if (n == kEnvelopeSegmentSize) {
      KW_ASSIGN_OR_RETURN(ahead, ReadFull(in, {next.data(), next.size()}));
    }
    const bool last = ahead == 0;
    const std::span<uint8_t> out_segment(sealed.data(),
                                         n + crypto::kGcmTagSize);
    KW_RETURN_IF_ERROR(
        cipher.Seal({current.data(), n}, last, out_segment));
    KW_RETURN_IF_ERROR(out.Write(out_segment));
    done += n;
    if (progress) progress(done);
    if (last) return absl::OkStatus();
    std::swap(current, next);
    n = ahead;
  }
}

absl::StatusOr<std::vector<uint8_t>> ReadEnvelopeHeader(ByteSource& in) {
  std::vector<uint8_t> header(kEnvelopePreambleSize);
  KW_ASSIGN_OR_RETURN(size_t n, ReadFull(in, header));
  if (n < kEnvelopePreambleSize) {
    return absl::InvalidArgumentError("not a keywarden envelope");
  }
  KW_ASSIGN_OR_RETURN(
      size_t size,
      EnvelopeHeaderSize(std::span<const uint8_t, kEnvelopePreambleSize>(
          header.data(), kEnvelopePreambleSize)));
  header.resize(size);
  const std::span<uint8_t> rest =
      std::span<uint8_t>(header).subspan(kEnvelopePreambleSize);
  KW_ASSIGN_OR_RETURN(n, ReadFull(in, rest));
  if (n < rest.size()) {
    return absl::InvalidArgumentError(
        "invalid envelope header: it is truncated");
  }
  return header;
}

absl::StatusOr<uint64_t> OpenStream(const SecretBytes& dek,
                                    std::span<const uint8_t> header,
                                    ByteSource& in, ByteSink& out,
                                    const EnvelopeProgress& progress) {
  KW_ASSIGN_OR_RETURN(EnvelopeHeader parsed, ParseEnvelopeHeader(header));
  KW_ASSIGN_OR_RETURN(SegmentCipher cipher,
                      SegmentCipher::Create(dek, parsed.nonce_prefix, header));
  // As in SealStream, one sealed segment is read ahead to know whether the
  // current one is the last.
  std::vector<uint8_t> current(kEnvelopeSealedSegmentSize);
  std::vector<uint8_t> next(kEnvelopeSealedSegmentSize);
  SecretBytes plaintext(kEnvelopeSegmentSize);
  KW_ASSIGN_OR_RETURN(size_t n, ReadFull(in, current));
  uint64_t done = 0;
  for (;;) {
    size_t ahead = 0;
    if (n == kEnvelopeSealedSegmentSize) {
      KW_ASSIGN_OR_RETURN(ahead, ReadFull(in, next));
    }
    const bool last = ahead == 0;
    if (n < crypto::kGcmTagSize) return StreamDamaged();
    const std::span<uint8_t> segment(plaintext.data(),
                                     n - crypto::kGcmTagSize);
    if (!cipher.Open({current.data(), n}, last, segment).ok()) {
      return StreamDamaged();
    }
    KW_RETURN_IF_ERROR(out.Write(segment));
    done += segment.size();
    if (progress) progress(done);
    if (last) return done;
    std::swap(current, next);
    n = ahead;
  }
}

absl::StatusOr<EnvelopeInfo> EncryptObject(KeyProtectClient& kp,
                                           const EncryptOptions& options,
                                           ByteSource& in, ByteSink& out) {
  if (options.key.empty()) {
    return absl::InvalidArgumentError("no root key given");
  }
  std::string key_id = options.key;
  if (!IsUuid(key_id)) {
    absl::StatusOr<Key> key = kp.GetKeyMetadata(options.key);
    if (!key.ok()) {
      return KeyError(StrCat("cannot look up the root key ",
                             Printable(options.key)),
                      key.status());
    }
    key_id = key->id;
  }
  const SecretBytes dek = crypto::RandomSecret(kEnvelopeDekSize);
  absl::StatusOr<WrapResult> wrapped =
      kp.Wrap(key_id, &dek, WrapAadOf(options.aad));
  if (!wrapped.ok()) {
    return KeyError(StrCat("cannot wrap the object's data key with root key ",
                           key_id),
                    wrapped.status());
  }
  if (!options.register_crn.empty()) {
    RegistrationRequest r;
    r.description = "objects encrypted by keywarden encrypt";
    absl::Status s =
        kp.CreateRegistration(key_id, options.register_crn, r).status();
    // CONFLICT_ERR: the resource is registered with this key already, with
    // other fields (an older key version, after a rotation); the
    // registration stands, which is what is asked for.
    if (!s.ok() && ReasonOf(s) != "CONFLICT_ERR") {
      return KeyError(StrCat("cannot register ",
                             Printable(options.register_crn),
                             " with root key ", key_id),
                      s);
    }
  }
  EnvelopeHeader header;
  header.key_id = key_id;
  header.key_version_id = wrapped->key_version_id;
  header.wdek = wrapped->ciphertext;
  header.aad = options.aad;
  crypto::RandomBytes(header.nonce_prefix);

  EnvelopeInfo info;
  const EnvelopeProgress count = [&](uint64_t bytes) {
    info.plaintext_bytes = bytes;
    if (options.progress) options.progress(bytes);
  };
  KW_RETURN_IF_ERROR(SealStream(dek, header, in, out, count));
  info.key_id = std::move(header.key_id);
  info.key_version_id = std::move(header.key_version_id);
  info.aad = std::move(header.aad);
  return info;
}

absl::StatusOr<EnvelopeInfo> DecryptObject(KeyProtectClient& kp,
                                           const DecryptOptions& options,
                                           ByteSource& in, ByteSink& out) {
  KW_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadEnvelopeHeader(in));
  KW_ASSIGN_OR_RETURN(EnvelopeHeader header, ParseEnvelopeHeader(bytes));
  if (options.expected_aad.has_value() && *options.expected_aad != header.aad) {
    return absl::InvalidArgumentError(
        "the object's aad is not the one given with --aad");
  }
  absl::StatusOr<UnwrapResult> unwrapped =
      kp.Unwrap(header.key_id, header.wdek, WrapAadOf(header.aad));
  if (!unwrapped.ok()) {
    return KeyError(
        StrCat("cannot unwrap the object's data key with root key ",
               header.key_id),
        unwrapped.status());
  }
  KW_ASSIGN_OR_RETURN(
      uint64_t size,
      OpenStream(unwrapped->plaintext, bytes, in, out, options.progress));
  EnvelopeInfo info;
  info.key_id = std::move(header.key_id);
  info.key_version_id = std::move(header.key_version_id);
  info.aad = std::move(header.aad);
  info.plaintext_bytes = size;
  return info;
}

}  // namespace keywarden::client
