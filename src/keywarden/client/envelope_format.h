#ifndef KEYWARDEN_CLIENT_ENVELOPE_FORMAT_H_
#define KEYWARDEN_CLIENT_ENVELOPE_FORMAT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/crypto/aes_gcm.h"
#include "keywarden/crypto/aes_gcm_segments.h"

// The bytes of an envelope-encrypted object (`keywarden encrypt`), as
// docs/formats/envelope.md specifies them: a header naming the root key and
// carrying the wrapped DEK and the caller's AAD, then the STREAM
// construction (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
// Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", 2015,
// §7) over AES-256-GCM in 64 KiB segments. No I/O and no server here: the
// golden vectors and the tamper tests drive this layer with a fixed DEK and
// nonce prefix.
namespace keywarden::client {

inline constexpr uint8_t kEnvelopeVersion = 1;
inline constexpr size_t kEnvelopeSegmentSize = 64 * 1024;  // plaintext bytes
inline constexpr size_t kEnvelopeSealedSegmentSize =
    kEnvelopeSegmentSize + crypto::kGcmTagSize;
inline constexpr size_t kEnvelopeNoncePrefixSize = 8;
inline constexpr size_t kEnvelopeDekSize = 32;  // AES-256
// Magic, version and header length: what a reader needs to know how many
// header bytes follow.
inline constexpr size_t kEnvelopePreambleSize = 9;
inline constexpr size_t kEnvelopeMaxHeaderSize = 64 * 1024;
// The first item of the `aad` list every wrap and unwrap of an envelope's
// DEK carries, before the caller's "name=value" items: a WDEK made for
// another purpose does not unwrap as an envelope's.
inline constexpr char kEnvelopeWrapLabel[] = "keywarden/envelope/v1";

// The caller's additional authenticated data: name/value pairs, sorted by
// name, names unique (one canonical encoding per set).
using EnvelopeAad = std::vector<std::pair<std::string, std::string>>;

// What the header carries (docs/formats/envelope.md "Header").
struct EnvelopeHeader {
  std::string key_id;          // the root key's id (not an alias)
  std::string key_version_id;  // the version that wrapped the DEK
  std::string wdek;            // base64, exactly as wrap returned it
  EnvelopeAad aad;
  std::array<uint8_t, kEnvelopeNoncePrefixSize> nonce_prefix{};
};

// Reads `--aad name=value` arguments into canonical form. InvalidArgument
// for a missing '=', an empty or repeated name, a name with '=' or a
// control character, or a pair that exceeds the limits of envelope.md.
absl::StatusOr<EnvelopeAad> ParseEnvelopeAad(
    const std::vector<std::string>& name_equals_value);

// The `aad` list of the wrap and unwrap calls: the label, then
// "name=value" for each pair in order.
std::vector<std::string> WrapAadOf(const EnvelopeAad& aad);

// Encodes `header`; InvalidArgument when a field breaks the format's limits
// (the same checks ParseEnvelopeHeader applies, so what encodes parses).
absl::StatusOr<std::vector<uint8_t>> EncodeEnvelopeHeader(
    const EnvelopeHeader& header);

// The header length a preamble announces. InvalidArgument "not a keywarden
// envelope" for a wrong magic, a version this code does not read, or a
// length outside the format's bounds.
absl::StatusOr<size_t> EnvelopeHeaderSize(
    std::span<const uint8_t, kEnvelopePreambleSize> preamble);

// Parses one whole header (preamble included). Any deviation from the
// canonical encoding is InvalidArgument: the header is authenticated only
// later, by the first segment, so nothing here may trust it.
absl::StatusOr<EnvelopeHeader> ParseEnvelopeHeader(
    std::span<const uint8_t> bytes);

// SegmentCipher seals or opens the segments of one object in order: the
// nonce of segment i is nonce_prefix || uint32_be(i), the AAD is
// SHA-256(header) || last-segment flag. The counter only moves forward, so
// a nonce never repeats under one DEK, and a segment moved, dropped or
// appended fails to open. Not thread-safe (one object, one thread).
class SegmentCipher {
 public:
  // `dek` must be 32 bytes; `header` is the object's encoded header.
  static absl::StatusOr<SegmentCipher> Create(
      const SecretBytes& dek,
      std::span<const uint8_t, kEnvelopeNoncePrefixSize> nonce_prefix,
      std::span<const uint8_t> header);

  // Seals the next segment: `plaintext` is kEnvelopeSegmentSize bytes, or
  // fewer for the last; `out` is plaintext.size() + 16 bytes.
  absl::Status Seal(std::span<const uint8_t> plaintext, bool last,
                    std::span<uint8_t> out);
  // Opens the next segment into `out` (sealed.size() - 16 bytes). Every
  // failure is the same InvalidArgument "decryption failed"; `out` is then
  // wiped.
  absl::Status Open(std::span<const uint8_t> sealed, bool last,
                    std::span<uint8_t> out);

  uint64_t segments_done() const { return counter_; }

 private:
  SegmentCipher(crypto::AesGcmSegments aead,
                std::span<const uint8_t, kEnvelopeNoncePrefixSize> prefix,
                std::span<const uint8_t> header);
  // The nonce and AAD of the next segment; fails once the counter is spent.
  absl::Status Next(bool last);

  crypto::AesGcmSegments aead_;
  std::array<uint8_t, crypto::kGcmNonceSize> nonce_{};
  std::array<uint8_t, 33> aad_{};  // SHA-256(header) || last flag
  uint64_t counter_ = 0;
  bool finished_ = false;
};

}  // namespace keywarden::client

#endif  // KEYWARDEN_CLIENT_ENVELOPE_FORMAT_H_
