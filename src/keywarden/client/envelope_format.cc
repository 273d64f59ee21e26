#include "keywarden/client/envelope_format.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/sha256.h"

namespace keywarden::client {
namespace {

// docs/formats/envelope.md "Header".
constexpr uint8_t kMagic[4] = {'K', 'W', 'E', 'N'};
constexpr size_t kMaxKeyIdSize = 255;
constexpr size_t kMaxWdekSize = 8192;
constexpr size_t kMaxAadPairs = 64;
constexpr size_t kMaxAadNameSize = 128;
// Key Protect takes `aad` items of at most 255 characters; "name=value" is
// one item.
constexpr size_t kMaxAadItemSize = 255;

absl::Status NotAnEnvelope() {
  return absl::InvalidArgumentError("not a keywarden envelope");
}

absl::Status BadHeader(std::string_view why) {
  return absl::InvalidArgumentError(
      AbslView(StrCat("invalid envelope header: ", why)));
}

bool IsControl(uint8_t c) { return c < 0x20 || c == 0x7f; }

bool AllOf(std::string_view s, bool (*ok)(uint8_t)) {
  return std::all_of(s.begin(), s.end(),
                     [ok](char c) { return ok(static_cast<uint8_t>(c)); });
}

bool IsVisibleAscii(uint8_t c) { return c > 0x20 && c < 0x7f; }
bool IsBase64(uint8_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}
bool IsText(uint8_t c) { return !IsControl(c); }

absl::Status CheckAadPair(const std::string& name, const std::string& value) {
  if (name.empty() || name.size() > kMaxAadNameSize ||
      name.find('=') != std::string::npos || !AllOf(name, IsText)) {
    return absl::InvalidArgumentError(
        "an aad name is 1 to 128 bytes without '=' or control characters");
  }
  if (!AllOf(value, IsText)) {
    return absl::InvalidArgumentError(
        "an aad value may not hold control characters");
  }
  if (name.size() + 1 + value.size() > kMaxAadItemSize) {
    return absl::InvalidArgumentError(
        "an aad pair name=value is at most 255 bytes");
  }
  return absl::OkStatus();
}

absl::Status CheckHeader(const EnvelopeHeader& h) {
  if (h.key_id.empty() || h.key_id.size() > kMaxKeyIdSize ||
      !AllOf(h.key_id, IsVisibleAscii)) {
    return BadHeader("the key id is 1 to 255 visible ASCII characters");
  }
  if (h.key_version_id.size() > kMaxKeyIdSize ||
      !AllOf(h.key_version_id, IsVisibleAscii)) {
    return BadHeader(
        "the key version id is at most 255 visible ASCII characters");
  }
  if (h.wdek.empty() || h.wdek.size() > kMaxWdekSize ||
      !AllOf(h.wdek, IsBase64)) {
    return BadHeader("the WDEK is 1 to 8192 base64 characters");
  }
  if (h.aad.size() > kMaxAadPairs) {
    return BadHeader("more than 64 aad pairs");
  }
  for (size_t i = 0; i < h.aad.size(); ++i) {
    KW_RETURN_IF_ERROR(CheckAadPair(h.aad[i].first, h.aad[i].second));
    if (i > 0 && !(h.aad[i - 1].first < h.aad[i].first)) {
      return BadHeader("aad names are not sorted and unique");
    }
  }
  return absl::OkStatus();
}

void PutU16(std::vector<uint8_t>& out, size_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void PutField(std::vector<uint8_t>& out, std::string_view s) {
  PutU16(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

// Reads the header's fields in order; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool U16(size_t* v) {
    if (bytes_.size() - pos_ < 2) return false;
    *v = (size_t{bytes_[pos_]} << 8) | bytes_[pos_ + 1];
    pos_ += 2;
    return true;
  }
  bool Field(std::string* s) {
    size_t n = 0;
    if (!U16(&n) || bytes_.size() - pos_ < n) return false;
    s->assign(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == bytes_.size(); }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<EnvelopeAad> ParseEnvelopeAad(
    const std::vector<std::string>& name_equals_value) {
  if (name_equals_value.size() > kMaxAadPairs) {
    return absl::InvalidArgumentError("at most 64 --aad pairs");
  }
  EnvelopeAad aad;
  for (const std::string& item : name_equals_value) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError("--aad takes name=value: an '=' is missing");
    }
    std::string name = item.substr(0, eq);
    std::string value = item.substr(eq + 1);
    KW_RETURN_IF_ERROR(CheckAadPair(name, value));
    aad.emplace_back(std::move(name), std::move(value));
  }
  std::sort(aad.begin(), aad.end());
  for (size_t i = 1; i < aad.size(); ++i) {
    if (aad[i - 1].first == aad[i].first) {
      return absl::InvalidArgumentError(AbslView(
          StrCat("the aad name \"", aad[i].first,  // no control characters
                 "\" is given twice")));
    }
  }
  return aad;
}

std::vector<std::string> WrapAadOf(const EnvelopeAad& aad) {
  std::vector<std::string> out;
  out.reserve(aad.size() + 1);
  out.emplace_back(kEnvelopeWrapLabel);
  for (const auto& [name, value] : aad) out.push_back(StrCat(name, "=", value));
  return out;
}

absl::StatusOr<std::vector<uint8_t>> EncodeEnvelopeHeader(
    const EnvelopeHeader& header) {
  KW_RETURN_IF_ERROR(CheckHeader(header));
  std::vector<uint8_t> out(std::begin(kMagic), std::end(kMagic));
  out.push_back(kEnvelopeVersion);
  out.resize(kEnvelopePreambleSize);  // the length, filled in below
  out.insert(out.end(), header.nonce_prefix.begin(), header.nonce_prefix.end());
  PutField(out, header.key_id);
  PutField(out, header.key_version_id);
  PutField(out, header.wdek);
  PutU16(out, header.aad.size());
  for (const auto& [name, value] : header.aad) {
    PutField(out, name);
    PutField(out, value);
  }
  const uint32_t size = static_cast<uint32_t>(out.size());
  for (int i = 0; i < 4; ++i) {
    out[5 + i] = static_cast<uint8_t>(size >> (24 - 8 * i));
  }
  return out;
}

absl::StatusOr<size_t> EnvelopeHeaderSize(
    std::span<const uint8_t, kEnvelopePreambleSize> preamble) {
  if (std::memcmp(preamble.data(), kMagic, sizeof kMagic) != 0) {
    return NotAnEnvelope();
  }
  if (preamble[4] != kEnvelopeVersion) {
    return absl::InvalidArgumentError(AbslView(
        StrCat("envelope format version ", int{preamble[4]},
               " is not supported (this keywarden reads version ",
               int{kEnvelopeVersion}, ")")));
  }
  size_t size = 0;
  for (int i = 0; i < 4; ++i) size = (size << 8) | preamble[5 + i];
  // The smallest header: preamble, prefix, three length fields (a 1-byte
  // key id and WDEK), the pair count.
  constexpr size_t kMinSize =
      kEnvelopePreambleSize + kEnvelopeNoncePrefixSize + 2 + 1 + 2 + 2 + 1 + 2;
  if (size < kMinSize || size > kEnvelopeMaxHeaderSize) {
    return BadHeader("its length is out of bounds");
  }
  return size;
}

absl::StatusOr<EnvelopeHeader> ParseEnvelopeHeader(
    std::span<const uint8_t> bytes) {
  if (bytes.size() < kEnvelopePreambleSize) return NotAnEnvelope();
  KW_ASSIGN_OR_RETURN(
      size_t size,
      EnvelopeHeaderSize(bytes.first<kEnvelopePreambleSize>()));
  if (size != bytes.size()) return BadHeader("its length does not match");
  EnvelopeHeader h;
  std::copy_n(bytes.begin() + kEnvelopePreambleSize, kEnvelopeNoncePrefixSize,
              h.nonce_prefix.begin());
  Reader r(bytes.subspan(kEnvelopePreambleSize + kEnvelopeNoncePrefixSize));
  size_t pairs = 0;
  if (!r.Field(&h.key_id) || !r.Field(&h.key_version_id) ||
      !r.Field(&h.wdek) || !r.U16(&pairs)) {
    return BadHeader("it is truncated");
  }
  if (pairs > kMaxAadPairs) return BadHeader("more than 64 aad pairs");
  h.aad.resize(pairs);
  for (auto& [name, value] : h.aad) {
    if (!r.Field(&name) || !r.Field(&value)) {
      return BadHeader("it is truncated");
    }
  }
  if (!r.done()) return BadHeader("bytes follow its last field");
  KW_RETURN_IF_ERROR(CheckHeader(h));
  return h;
}

// --- SegmentCipher ----------------------------------------------------------

SegmentCipher::SegmentCipher(
    crypto::AesGcmSegments aead,
    std::span<const uint8_t, kEnvelopeNoncePrefixSize> prefix,
    std::span<const uint8_t> header)
    : aead_(std::move(aead)) {
  std::copy(prefix.begin(), prefix.end(), nonce_.begin());
  const std::array<uint8_t, 32> digest = crypto::Sha256(header);
  std::copy(digest.begin(), digest.end(), aad_.begin());
}

absl::StatusOr<SegmentCipher> SegmentCipher::Create(
    const SecretBytes& dek,
    std::span<const uint8_t, kEnvelopeNoncePrefixSize> nonce_prefix,
    std::span<const uint8_t> header) {
  if (dek.size() != kEnvelopeDekSize) {
    return absl::InvalidArgumentError("the data key must be 32 bytes");
  }
  KW_ASSIGN_OR_RETURN(crypto::AesGcmSegments aead,
                      crypto::AesGcmSegments::Create(dek.span()));
  return SegmentCipher(std::move(aead), nonce_prefix, header);
}

absl::Status SegmentCipher::Next(bool last) {
  // STREAM's nonce space: 2^32 segments (256 TiB) per object. After the
  // last segment nothing more may be sealed or opened.
  if (finished_ || counter_ > UINT32_MAX) {
    return absl::InvalidArgumentError("decryption failed");
  }
  for (int i = 0; i < 4; ++i) {
    nonce_[kEnvelopeNoncePrefixSize + i] =
        static_cast<uint8_t>(counter_ >> (24 - 8 * i));
  }
  aad_[32] = last ? 1 : 0;
  finished_ = last;
  ++counter_;
  return absl::OkStatus();
}

absl::Status SegmentCipher::Seal(std::span<const uint8_t> plaintext, bool last,
                                 std::span<uint8_t> out) {
  if (plaintext.size() > kEnvelopeSegmentSize ||
      (!last && plaintext.size() != kEnvelopeSegmentSize)) {
    return absl::InvalidArgumentError(
        "a segment is 64 KiB, only the last may be shorter");
  }
  KW_RETURN_IF_ERROR(Next(last));
  return aead_.SealInto(nonce_, plaintext, aad_, out);
}

absl::Status SegmentCipher::Open(std::span<const uint8_t> sealed, bool last,
                                 std::span<uint8_t> out) {
  // A segment other than the last is full; the last is never empty unless
  // it is the only one (the empty object). Checked like the tag: one
  // message for every way a segment can be wrong.
  const bool full = sealed.size() == kEnvelopeSealedSegmentSize;
  const bool short_ok = sealed.size() >= crypto::kGcmTagSize &&
                        sealed.size() < kEnvelopeSealedSegmentSize &&
                        (sealed.size() > crypto::kGcmTagSize || counter_ == 0);
  if (!(full || (last && short_ok))) {
    return absl::InvalidArgumentError("decryption failed");
  }
  KW_RETURN_IF_ERROR(Next(last));
  return aead_.OpenInto(nonce_, sealed, aad_, out);
}

}  // namespace keywarden::client
