#ifndef KEYWARDEN_API_KMIP_TTLV_H_
#define KEYWARDEN_API_KMIP_TTLV_H_

// KMIP's Tag-Type-Length-Value encoding (KMIP 1.4 §9.1, KMIP 2.0 §9.1): the
// item tree, a strict bounded decoder and the canonical encoder. The format
// and the limits are written down in docs/formats/kmip.md.
//
// Every item is an 8-byte header (3-byte tag, 1-byte type, 4-byte big-endian
// length) and a value padded with zero bytes to a multiple of 8. The decoder
// accepts exactly the canonical form: each type's fixed length, zero padding,
// Booleans 0 or 1, UTF-8 text, Big Integers a non-zero multiple of 8 bytes,
// a structure's children filling it exactly. So decode(encode(x)) == x and
// encode(decode(b)) == b for every accepted b (the fuzzer checks both).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/api/kmip/tags.h"

namespace keywarden::api::kmip {

// Item Type (KMIP 1.4 §9.1.1.2; 0x0B Date-Time Extended is KMIP 2.0).
enum class ItemType : uint8_t {
  kStructure = 0x01,
  kInteger = 0x02,
  kLongInteger = 0x03,
  kBigInteger = 0x04,
  kEnumeration = 0x05,
  kBoolean = 0x06,
  kTextString = 0x07,
  kByteString = 0x08,
  kDateTime = 0x09,
  kInterval = 0x0A,
  kDateTimeExtended = 0x0B,
};

std::string_view ItemTypeName(ItemType type);

// The limits of the decoder. A message past any of them is rejected before
// anything proportional to the claimed size is allocated.
inline constexpr size_t kTtlvHeaderSize = 8;
// The largest message (header included) a server reads or decodes. RSA-4096
// private keys in Transparent form are about 2.5 KiB; 1 MiB leaves room for
// Encrypt/Decrypt data and long Locate answers.
inline constexpr size_t kMaxTtlvMessageBytes = 1 << 20;
// The deepest nesting in a supported message is 8 (Request Message > Batch
// Item > Request Payload > Private Key > Key Block > Key Value > Key Material
// > Modulus); 16 leaves room for extensions without unbounded recursion.
inline constexpr int kMaxTtlvDepth = 16;
// Items in one message (every header counts). A 1 MiB message of empty
// items would be 131072; this bounds the tree's allocation to a few MiB.
inline constexpr size_t kMaxTtlvItems = 16384;

struct TtlvLimits {
  size_t max_bytes = kMaxTtlvMessageBytes;
  int max_depth = kMaxTtlvDepth;
  size_t max_items = kMaxTtlvItems;
};

// One TTLV item. A structure holds children; Text String, Byte String and
// Big Integer hold bytes (a Byte String may be key material: the bytes are
// wiped when the item is destroyed); every other type holds an integer.
// Thread-compatible.
class Item {
 public:
  Item() = default;
  ~Item();
  Item(const Item&) = default;
  Item& operator=(const Item&) = default;
  Item(Item&&) noexcept = default;
  Item& operator=(Item&&) noexcept = default;

  static Item Structure(Tag tag, std::vector<Item> children = {});
  static Item Integer(Tag tag, int32_t value);
  static Item LongInteger(Tag tag, int64_t value);
  // `bytes`: big-endian two's complement, a non-zero multiple of 8 bytes.
  static Item BigInteger(Tag tag, std::string bytes);
  static Item Enumeration(Tag tag, uint32_t value);
  template <typename E>
  static Item Enum(Tag tag, E value) {
    return Enumeration(tag, static_cast<uint32_t>(value));
  }
  static Item Boolean(Tag tag, bool value);
  static Item TextString(Tag tag, std::string value);
  static Item ByteString(Tag tag, std::string value);
  static Item ByteString(Tag tag, std::span<const uint8_t> value);
  // Seconds since the POSIX epoch.
  static Item DateTime(Tag tag, int64_t seconds);
  static Item Interval(Tag tag, uint32_t seconds);
  // Microseconds since the POSIX epoch (KMIP 2.0).
  static Item DateTimeExtended(Tag tag, int64_t micros);

  // Any type with a raw tag (the decoder's constructor).
  static Item Make(uint32_t tag, ItemType type);

  uint32_t tag() const { return tag_; }
  bool Is(Tag tag) const { return tag_ == static_cast<uint32_t>(tag); }
  ItemType type() const { return type_; }
  void set_tag(uint32_t tag) { tag_ = tag; }

  // Integer, Long Integer, Enumeration, Boolean, Date-Time, Interval and
  // Date-Time Extended values (sign-extended / zero-extended as the type is).
  int64_t int_value() const { return int_value_; }
  void set_int_value(int64_t v) { int_value_ = v; }
  // Text String, Byte String and Big Integer values.
  const std::string& bytes() const { return bytes_; }
  std::string& mutable_bytes() { return bytes_; }
  std::span<const uint8_t> byte_span() const {
    return {reinterpret_cast<const uint8_t*>(bytes_.data()), bytes_.size()};
  }

  const std::vector<Item>& children() const { return children_; }
  std::vector<Item>& mutable_children() { return children_; }
  // Appends a child to a structure and returns it.
  Item& Add(Item child);

  // The first child with `tag`, or nullptr.
  const Item* Find(Tag tag) const;
  // Every child with `tag`, in order.
  std::vector<const Item*> FindAll(Tag tag) const;

  // Structural equality (tag, type, value, children in order).
  friend bool operator==(const Item& a, const Item& b);

 private:
  uint32_t tag_ = 0;
  ItemType type_ = ItemType::kStructure;
  int64_t int_value_ = 0;
  std::string bytes_;
  std::vector<Item> children_;
};

// Decodes exactly one item spanning all of `bytes`. Errors are
// InvalidArgument with a client-safe message naming the offset and what is
// wrong (never the bytes themselves).
absl::StatusOr<Item> DecodeTtlv(std::span<const uint8_t> bytes,
                                const TtlvLimits& limits = {});

// For a stream: given the first 8 bytes of a message, the size of the whole
// message (header included). Rejects a header that is not a structure, a
// length that is not a multiple of 8, and sizes over `max_bytes`, before the
// rest is read.
absl::StatusOr<size_t> TtlvMessageSize(std::span<const uint8_t> header,
                                       size_t max_bytes = kMaxTtlvMessageBytes);

// Appends the canonical encoding of `item` to `out`. Fails only for an item
// the encoder cannot represent (a Big Integer whose length is not a
// non-zero multiple of 8, a structure over 2^32 - 1 bytes, text that is not
// UTF-8).
absl::Status AppendTtlv(const Item& item, std::string& out);
absl::StatusOr<std::string> EncodeTtlv(const Item& item);

// A readable dump (tag names, types, values; Byte String and Big Integer
// values are shown as their length only, so a dump never carries key
// material). For tests and debugging.
std::string DebugString(const Item& item);

}  // namespace keywarden::api::kmip

#endif  // KEYWARDEN_API_KMIP_TTLV_H_
