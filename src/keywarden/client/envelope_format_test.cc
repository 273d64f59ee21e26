#include "keywarden/client/envelope_format.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/client/envelope.h"
#include "keywarden/crypto/sha256.h"

namespace keywarden::client {
namespace {

using ::testing::HasSubstr;

// Reads at most `chunk` bytes per call, so that ReadFull's loop is used.
class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::vector<uint8_t> bytes, size_t chunk = 1 << 20)
      : bytes_(std::move(bytes)), chunk_(chunk) {}
  absl::StatusOr<size_t> Read(std::span<uint8_t> out) override {
    const size_t n = std::min({out.size(), chunk_, bytes_.size() - pos_});
    std::copy_n(bytes_.begin() + pos_, n, out.begin());
    pos_ += n;
    return n;
  }

 private:
  std::vector<uint8_t> bytes_;
  size_t chunk_;
  size_t pos_ = 0;
};

class MemorySink : public ByteSink {
 public:
  absl::Status Write(std::span<const uint8_t> bytes) override {
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
    return absl::OkStatus();
  }
  std::vector<uint8_t> bytes_;
};

std::string HexOf(std::span<const uint8_t> bytes) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes.data()),
                        bytes.size()));
}

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7 + 3);
  return b;
}

// The inputs of the golden vectors (docs/formats/envelope.md).
SecretBytes GoldenDek() {
  SecretBytes dek(32);
  for (size_t i = 0; i < 32; ++i) dek.data()[i] = static_cast<uint8_t>(i);
  return dek;
}

EnvelopeHeader GoldenHeader() {
  EnvelopeHeader h;
  h.key_id = "8f4e3c2a-1b6d-4e9f-a0b1-c2d3e4f5a6b7";
  h.key_version_id = h.key_id;
  h.wdek = "AgABAgMEBQYHCAkKCwwNDg8=";
  h.aad = {{"bucket", "photos"}, {"object", "2026/cat.jpg"}};
  h.nonce_prefix = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7};
  return h;
}

std::vector<uint8_t> Seal(const std::vector<uint8_t>& plaintext,
                          const EnvelopeHeader& header = GoldenHeader()) {
  MemorySource in(plaintext, 1000);
  MemorySink out;
  absl::Status s = SealStream(GoldenDek(), header, in, out);
  EXPECT_TRUE(s.ok()) << s;
  return out.bytes_;
}

// Opens `sealed` with the golden DEK; the plaintext goes to `out`.
absl::Status Open(const std::vector<uint8_t>& sealed, MemorySink& out,
                  const SecretBytes& dek = GoldenDek()) {
  MemorySource in(sealed, 777);
  auto header = ReadEnvelopeHeader(in);
  if (!header.ok()) return header.status();
  return OpenStream(dek, *header, in, out).status();
}

absl::Status Open(const std::vector<uint8_t>& sealed) {
  MemorySink out;
  return Open(sealed, out);
}

// Produced independently by tests/kat/envelope_vectors.js (Node's crypto).
constexpr char kGoldenHeader[] =
    "4b57454e010000009fa0a1a2a3a4a5a6a7002438663465336332612d316236642d3465"
    "39662d613062312d633264336534663561366237002438663465336332612d31623664"
    "2d346539662d613062312d63326433653466356136623700184167414241674d454251"
    "594843416b4b4377774e4467383d000200066275636b6574000670686f746f7300066f"
    "626a656374000c323032362f6361742e6a7067";
constexpr char kGoldenEmptyTag[] = "a9ea534e7013326e7fe005cf278340f4";
constexpr char kGoldenHelloSegment[] =
    "963c82c43e1e5240b909bff5e30650a049ea8a6909413e40757f9208cd84e251";

TEST(EnvelopeGoldenTest, HeaderEncodesAsSpecified) {
  auto encoded = EncodeEnvelopeHeader(GoldenHeader());
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(HexOf(*encoded), kGoldenHeader);
}

TEST(EnvelopeGoldenTest, EmptyObjectIsHeaderAndOneTag) {
  EXPECT_EQ(HexOf(Seal({})), std::string(kGoldenHeader) + kGoldenEmptyTag);
}

TEST(EnvelopeGoldenTest, ShortObjectIsOneLastSegment) {
  const std::string text = "hello, envelope\n";
  EXPECT_EQ(HexOf(Seal(std::vector<uint8_t>(text.begin(), text.end()))),
            std::string(kGoldenHeader) + kGoldenHelloSegment);
}

TEST(EnvelopeGoldenTest, MultiSegmentObjectsMatchTheVectors) {
  struct Case {
    size_t size;
    size_t sealed_size;
    const char* sha256;
  };
  const Case cases[] = {
      {65536, 65711,
       "850f8b2c4615540494c49ea901dc08a76fcdc3e3fa3be31a6b605ccc28f934e3"},
      {2 * 65536 + 100, 131379,
       "97c0cdbb40bf501374ab416667236910b9e764946cc83a8a52715a4ff104105c"},
  };
  for (const Case& c : cases) {
    const std::vector<uint8_t> sealed = Seal(Pattern(c.size));
    EXPECT_EQ(sealed.size(), c.sealed_size) << c.size;
    EXPECT_EQ(HexOf(crypto::Sha256(sealed)), c.sha256) << c.size;
  }
}

TEST(EnvelopeStreamTest, RoundTripsAtSegmentBoundaries) {
  for (size_t size : {size_t{0}, size_t{1}, kEnvelopeSegmentSize - 1,
                      kEnvelopeSegmentSize, kEnvelopeSegmentSize + 1,
                      3 * kEnvelopeSegmentSize}) {
    const std::vector<uint8_t> plaintext = Pattern(size);
    MemorySink out;
    ASSERT_TRUE(Open(Seal(plaintext), out).ok()) << size;
    EXPECT_EQ(out.bytes_, plaintext) << size;
  }
}

TEST(EnvelopeStreamTest, EveryFlippedByteFails) {
  const std::string text = "hello, envelope\n";
  const std::vector<uint8_t> sealed =
      Seal(std::vector<uint8_t>(text.begin(), text.end()));
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (uint8_t bit : {0x01, 0x80}) {
      std::vector<uint8_t> bad = sealed;
      bad[i] ^= bit;
      MemorySink out;
      EXPECT_FALSE(Open(bad, out).ok()) << "byte " << i;
      EXPECT_TRUE(out.bytes_.empty()) << "byte " << i;
    }
  }
}

// Offsets of the segments of a sealed object.
size_t HeaderSize(const std::vector<uint8_t>& sealed) {
  MemorySource in(sealed);
  return ReadEnvelopeHeader(in)->size();
}

TEST(EnvelopeStreamTest, TruncationFailsEvenAtASegmentBoundary) {
  const std::vector<uint8_t> sealed = Seal(Pattern(3 * 65536 + 10));
  const size_t h = HeaderSize(sealed);
  for (size_t cut : {size_t{0}, size_t{5}, h - 1, h, h + 15, h + 16,
                     h + kEnvelopeSealedSegmentSize,
                     h + 2 * kEnvelopeSealedSegmentSize,
                     h + 3 * kEnvelopeSealedSegmentSize,
                     sealed.size() - 1}) {
    std::vector<uint8_t> bad(sealed.begin(), sealed.begin() + cut);
    EXPECT_FALSE(Open(bad).ok()) << "cut at " << cut;
  }
}

TEST(EnvelopeStreamTest, ReorderedSegmentsFail) {
  const std::vector<uint8_t> sealed = Seal(Pattern(3 * 65536 + 10));
  const size_t h = HeaderSize(sealed);
  std::vector<uint8_t> bad = sealed;
  std::swap_ranges(bad.begin() + h, bad.begin() + h + kEnvelopeSealedSegmentSize,
                   bad.begin() + h + kEnvelopeSealedSegmentSize);
  EXPECT_FALSE(Open(bad).ok());
}

TEST(EnvelopeStreamTest, AppendedBytesOrSegmentsFail) {
  const std::vector<uint8_t> sealed = Seal(Pattern(2 * 65536));
  const size_t h = HeaderSize(sealed);
  std::vector<uint8_t> extra_byte = sealed;
  extra_byte.push_back(0);
  EXPECT_FALSE(Open(extra_byte).ok());
  // The first segment again at the end: valid on its own, not there.
  std::vector<uint8_t> extra_segment = sealed;
  extra_segment.insert(extra_segment.end(), sealed.begin() + h,
                       sealed.begin() + h + kEnvelopeSealedSegmentSize);
  EXPECT_FALSE(Open(extra_segment).ok());
  // Two objects under the same key, concatenated.
  std::vector<uint8_t> two = sealed;
  two.insert(two.end(), sealed.begin(), sealed.end());
  EXPECT_FALSE(Open(two).ok());
}

TEST(EnvelopeStreamTest, DamageWritesOnlyTheSegmentsBeforeIt) {
  const std::vector<uint8_t> plaintext = Pattern(3 * 65536 + 10);
  std::vector<uint8_t> bad = Seal(plaintext);
  bad[bad.size() - 1] ^= 1;  // the last segment's tag
  MemorySink out;
  absl::Status s = Open(bad, out);
  EXPECT_THAT(s.message(), HasSubstr("decryption failed"));
  EXPECT_EQ(out.bytes_.size(), 3 * kEnvelopeSegmentSize);
  EXPECT_TRUE(std::equal(out.bytes_.begin(), out.bytes_.end(),
                         plaintext.begin()));
}

TEST(EnvelopeStreamTest, OtherAadOrKeyFails) {
  const std::vector<uint8_t> plaintext = Pattern(100);
  const std::vector<uint8_t> sealed = Seal(plaintext);
  const size_t h = HeaderSize(sealed);
  // The same segments under a header with other AAD (well formed, so only
  // the segments' authentication can catch it).
  EnvelopeHeader other = GoldenHeader();
  other.aad[1].second = "2026/dog.jpg";
  std::vector<uint8_t> swapped = *EncodeEnvelopeHeader(other);
  swapped.insert(swapped.end(), sealed.begin() + h, sealed.end());
  EXPECT_FALSE(Open(swapped).ok());

  SecretBytes wrong = GoldenDek();
  wrong.data()[0] ^= 1;
  MemorySink out;
  EXPECT_FALSE(Open(sealed, out, wrong).ok());
}

TEST(EnvelopeHeaderTest, ParsesWhatItEncodes) {
  auto encoded = EncodeEnvelopeHeader(GoldenHeader());
  ASSERT_TRUE(encoded.ok());
  auto parsed = ParseEnvelopeHeader(*encoded);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->key_id, GoldenHeader().key_id);
  EXPECT_EQ(parsed->wdek, GoldenHeader().wdek);
  EXPECT_EQ(parsed->aad, GoldenHeader().aad);
  EXPECT_EQ(parsed->nonce_prefix, GoldenHeader().nonce_prefix);
}

TEST(EnvelopeHeaderTest, RejectsOtherFilesAndVersions) {
  std::vector<uint8_t> header = *EncodeEnvelopeHeader(GoldenHeader());
  std::vector<uint8_t> text(header.size(), 'a');
  EXPECT_THAT(ParseEnvelopeHeader(text).status().message(),
              HasSubstr("not a keywarden envelope"));
  header[4] = 2;
  EXPECT_THAT(ParseEnvelopeHeader(header).status().message(),
              HasSubstr("version 2 is not supported"));
}

TEST(EnvelopeHeaderTest, RejectsNonCanonicalEncodings) {
  const std::vector<uint8_t> good = *EncodeEnvelopeHeader(GoldenHeader());
  // A length that does not match the fields.
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_FALSE(ParseEnvelopeHeader(longer).ok());
  std::vector<uint8_t> announced = longer;
  announced[8] += 1;  // the header length, now covering the extra byte
  EXPECT_THAT(ParseEnvelopeHeader(announced).status().message(),
              HasSubstr("bytes follow its last field"));
  // AAD names out of order.
  EnvelopeHeader unsorted = GoldenHeader();
  std::swap(unsorted.aad[0], unsorted.aad[1]);
  EXPECT_FALSE(EncodeEnvelopeHeader(unsorted).ok());
  // Every truncation of the header.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(ParseEnvelopeHeader({good.data(), n}).ok()) << n;
  }
}

TEST(EnvelopeHeaderTest, HugeAnnouncedLengthIsRefusedBeforeReading) {
  std::vector<uint8_t> preamble = {'K', 'W', 'E', 'N', 1, 0x7f, 0, 0, 0};
  MemorySource in(preamble);
  EXPECT_THAT(ReadEnvelopeHeader(in).status().message(),
              HasSubstr("length is out of bounds"));
}

TEST(EnvelopeAadTest, SortsAndChecksPairs) {
  auto aad = ParseEnvelopeAad({"object=a=b", "bucket=photos", "empty="});
  ASSERT_TRUE(aad.ok()) << aad.status();
  EXPECT_EQ(*aad, (EnvelopeAad{{"bucket", "photos"},
                               {"empty", ""},
                               {"object", "a=b"}}));
  EXPECT_EQ(WrapAadOf(*aad),
            (std::vector<std::string>{"keywarden/envelope/v1",
                                      "bucket=photos", "empty=",
                                      "object=a=b"}));
  EXPECT_FALSE(ParseEnvelopeAad({"novalue"}).ok());
  EXPECT_FALSE(ParseEnvelopeAad({"=value"}).ok());
  EXPECT_FALSE(ParseEnvelopeAad({"a=1", "a=2"}).ok());
  EXPECT_FALSE(ParseEnvelopeAad({"a=line\nbreak"}).ok());
  EXPECT_FALSE(ParseEnvelopeAad({"a=" + std::string(254, 'x')}).ok());
  EXPECT_TRUE(ParseEnvelopeAad({"a=" + std::string(253, 'x')}).ok());
}

TEST(SegmentCipherTest, RefusesShortNonLastSegmentsAndUseAfterLast) {
  auto header = *EncodeEnvelopeHeader(GoldenHeader());
  auto cipher = SegmentCipher::Create(GoldenDek(),
                                      GoldenHeader().nonce_prefix, header);
  ASSERT_TRUE(cipher.ok());
  std::vector<uint8_t> plaintext(10), out(10 + 16);
  EXPECT_FALSE(cipher->Seal(plaintext, /*last=*/false, out).ok());
  EXPECT_TRUE(cipher->Seal(plaintext, /*last=*/true, out).ok());
  EXPECT_FALSE(cipher->Seal(plaintext, /*last=*/true, out).ok());
  EXPECT_FALSE(SegmentCipher::Create(SecretBytes(16),
                                     GoldenHeader().nonce_prefix, header)
                   .ok());
}

}  // namespace
}  // namespace keywarden::client
