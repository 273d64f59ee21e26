#include "keywarden/api/kmip/ttlv.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::api::kmip {
namespace {

uint32_t ReadU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

uint64_t ReadU64(const uint8_t* p) {
  return (uint64_t{ReadU32(p)} << 32) | ReadU32(p + 4);
}

void PutU32(std::string& out, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
               static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 4);
}

void PutU64(std::string& out, uint64_t v) {
  PutU32(out, static_cast<uint32_t>(v >> 32));
  PutU32(out, static_cast<uint32_t>(v));
}

size_t Padded(size_t n) { return (n + 7) & ~size_t{7}; }

bool KnownType(uint8_t t) { return t >= 0x01 && t <= 0x0B; }

// KMIP tags live in 0x42xxxx (standard) and 0x54xxxx (extensions),
// KMIP 1.4 §9.1.3.1; anything else is not a KMIP tag.
bool ValidTag(uint32_t tag) {
  uint32_t high = tag >> 16;
  return high == 0x42 || high == 0x54;
}

// RFC 3629 UTF-8: no overlong forms, no surrogates, at most U+10FFFF.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

absl::Status Malformed(size_t offset, std::string_view what) {
  return absl::InvalidArgumentError(
      StrCat("malformed TTLV at byte ", offset, ": ", what));
}

class Decoder {
 public:
  Decoder(std::span<const uint8_t> bytes, const TtlvLimits& limits)
      : bytes_(bytes), limits_(limits) {}

  // Decodes the item at `pos`, which must end exactly at `end`'s bound or
  // before; returns the offset after it.
  absl::StatusOr<size_t> DecodeAt(size_t pos, size_t end, int depth,
                                  Item& out) {
    if (depth > limits_.max_depth) {
      return Malformed(pos, "nesting deeper than the limit");
    }
    if (++items_ > limits_.max_items) {
      return Malformed(pos, "more items than the limit");
    }
    if (end - pos < kTtlvHeaderSize) return Malformed(pos, "truncated header");
    const uint8_t* h = bytes_.data() + pos;
    uint32_t tag = (uint32_t{h[0]} << 16) | (uint32_t{h[1]} << 8) | h[2];
    if (!ValidTag(tag)) return Malformed(pos, "tag outside 0x42xxxx/0x54xxxx");
    if (!KnownType(h[3])) return Malformed(pos, "unknown item type");
    auto type = static_cast<ItemType>(h[3]);
    uint32_t length = ReadU32(h + 4);
    size_t value_pos = pos + kTtlvHeaderSize;
    size_t available = end - value_pos;
    out = Item::Make(tag, type);

    auto fixed = [&](uint32_t want) -> absl::Status {
      if (length != want) return Malformed(pos, "wrong length for its type");
      if (available < 8) return Malformed(pos, "truncated value");
      return absl::OkStatus();
    };
    auto check_pad = [&](size_t from, size_t to) -> absl::Status {
      for (size_t i = from; i < to; ++i) {
        if (bytes_[i] != 0) return Malformed(i, "non-zero padding");
      }
      return absl::OkStatus();
    };
    const uint8_t* v = bytes_.data() + value_pos;

    switch (type) {
      case ItemType::kStructure: {
        if (length % 8 != 0) return Malformed(pos, "structure length not a multiple of 8");
        if (length > available) return Malformed(pos, "structure overruns its parent");
        size_t child_end = value_pos + length;
        size_t p = value_pos;
        while (p < child_end) {
          Item child;
          KW_ASSIGN_OR_RETURN(p, DecodeAt(p, child_end, depth + 1, child));
          out.mutable_children().push_back(std::move(child));
        }
        return child_end;
      }
      case ItemType::kInteger:
      case ItemType::kEnumeration:
      case ItemType::kInterval: {
        KW_RETURN_IF_ERROR(fixed(4));
        KW_RETURN_IF_ERROR(check_pad(value_pos + 4, value_pos + 8));
        uint32_t raw = ReadU32(v);
        out.set_int_value(type == ItemType::kInteger
                              ? static_cast<int64_t>(static_cast<int32_t>(raw))
                              : static_cast<int64_t>(raw));
        return value_pos + 8;
      }
      case ItemType::kLongInteger:
      case ItemType::kDateTime:
      case ItemType::kDateTimeExtended:
      case ItemType::kBoolean: {
        KW_RETURN_IF_ERROR(fixed(8));
        auto value = static_cast<int64_t>(ReadU64(v));
        if (type == ItemType::kBoolean && value != 0 && value != 1) {
          return Malformed(pos, "Boolean other than 0 or 1");
        }
        out.set_int_value(value);
        return value_pos + 8;
      }
      case ItemType::kBigInteger:
      case ItemType::kTextString:
      case ItemType::kByteString: {
        if (type == ItemType::kBigInteger && (length == 0 || length % 8 != 0)) {
          return Malformed(pos, "Big Integer length not a non-zero multiple of 8");
        }
        if (length > available || Padded(length) > available) {
          return Malformed(pos, "value overruns its parent");
        }
        KW_RETURN_IF_ERROR(check_pad(value_pos + length, value_pos + Padded(length)));
        out.mutable_bytes().assign(reinterpret_cast<const char*>(v), length);
        if (type == ItemType::kTextString && !ValidUtf8(out.bytes())) {
          return Malformed(pos, "Text String is not UTF-8");
        }
        return value_pos + Padded(length);
      }
    }
    return Malformed(pos, "unknown item type");
  }

 private:
  std::span<const uint8_t> bytes_;
  const TtlvLimits& limits_;
  size_t items_ = 0;
};

}  // namespace

std::string_view ItemTypeName(ItemType type) {
  switch (type) {
    case ItemType::kStructure: return "Structure";
    case ItemType::kInteger: return "Integer";
    case ItemType::kLongInteger: return "LongInteger";
    case ItemType::kBigInteger: return "BigInteger";
    case ItemType::kEnumeration: return "Enumeration";
    case ItemType::kBoolean: return "Boolean";
    case ItemType::kTextString: return "TextString";
    case ItemType::kByteString: return "ByteString";
    case ItemType::kDateTime: return "DateTime";
    case ItemType::kInterval: return "Interval";
    case ItemType::kDateTimeExtended: return "DateTimeExtended";
  }
  return "?";
}

std::string_view TagName(uint32_t tag) {
  switch (tag) {
#define KW_KMIP_TAG_NAME(name, value) \
  case value:                         \
    return std::string_view(#name).substr(1);
    KW_KMIP_TAGS(KW_KMIP_TAG_NAME)
#undef KW_KMIP_TAG_NAME
  }
  return "";
}

Item::~Item() {
  if (!bytes_.empty()) WipeString(bytes_);
}

Item Item::Make(uint32_t tag, ItemType type) {
  Item item;
  item.tag_ = tag;
  item.type_ = type;
  return item;
}

Item Item::Structure(Tag tag, std::vector<Item> children) {
  Item item = Make(static_cast<uint32_t>(tag), ItemType::kStructure);
  item.children_ = std::move(children);
  return item;
}

Item Item::Integer(Tag tag, int32_t value) {
  Item item = Make(static_cast<uint32_t>(tag), ItemType::kInteger);
  item.int_value_ = value;
  return item;
}

Item Item::LongInteger(Tag tag, int64_t value) {
  Item item = Make(static_cast<uint32_t>(tag), ItemType::kLongInteger);
  item.int_value_ = value;
  return item;
}

Item Item::BigInteger(Tag tag, std::string bytes) {
  Item item = Make(static_cast<uint32_t>(tag), ItemType::kBigInteger);
  item.bytes_ = std::move(bytes);
  return item;
}

Item Item::Enumeration(Tag tag, uint32_t value) {
  Item item = Make(static_cast<uint32_t>(tag), ItemType::kEnumeration);
  item.int_value_ = value;
  return item;
}

Item Item::Boolean(Tag tag, bool value) {
  Item item = Make(static_cast<uint32_t>(tag), ItemType::kBoolean);
  item.int_value_ = value ? 1 : 0;
  return item;
}

Item Item::TextString(Tag tag, std::string value) {
  Item item = Make(static_cast<uint32_t>(tag), ItemType::kTextString);
  item.bytes_ = std::move(value);
  return item;
}

Item Item::ByteString(Tag tag, std::string value) {
  Item item = Make(static_cast<uint32_t>(tag), ItemType::kByteString);
  item.bytes_ = std::move(value);
  return item;
}

Item Item::ByteString(Tag tag, std::span<const uint8_t> value) {
  return ByteString(tag, std::string(reinterpret_cast<const char*>(value.data()),
                                     value.size()));
}

Item Item::DateTime(Tag tag, int64_t seconds) {
  Item item = Make(static_cast<uint32_t>(tag), ItemType::kDateTime);
  item.int_value_ = seconds;
  return item;
}

Item Item::Interval(Tag tag, uint32_t seconds) {
  Item item = Make(static_cast<uint32_t>(tag), ItemType::kInterval);
  item.int_value_ = seconds;
  return item;
}

Item Item::DateTimeExtended(Tag tag, int64_t micros) {
  Item item = Make(static_cast<uint32_t>(tag), ItemType::kDateTimeExtended);
  item.int_value_ = micros;
  return item;
}

Item& Item::Add(Item child) {
  children_.push_back(std::move(child));
  return children_.back();
}

const Item* Item::Find(Tag tag) const {
  for (const Item& c : children_) {
    if (c.Is(tag)) return &c;
  }
  return nullptr;
}

std::vector<const Item*> Item::FindAll(Tag tag) const {
  std::vector<const Item*> out;
  for (const Item& c : children_) {
    if (c.Is(tag)) out.push_back(&c);
  }
  return out;
}

bool operator==(const Item& a, const Item& b) {
  return a.tag_ == b.tag_ && a.type_ == b.type_ &&
         a.int_value_ == b.int_value_ && a.bytes_ == b.bytes_ &&
         a.children_ == b.children_;
}

absl::StatusOr<Item> DecodeTtlv(std::span<const uint8_t> bytes,
                                const TtlvLimits& limits) {
  if (bytes.size() > limits.max_bytes) {
    return absl::InvalidArgumentError("TTLV message larger than the limit");
  }
  Decoder decoder(bytes, limits);
  Item root;
  KW_ASSIGN_OR_RETURN(size_t end, decoder.DecodeAt(0, bytes.size(), 0, root));
  if (end != bytes.size()) return Malformed(end, "bytes after the message");
  return root;
}

absl::StatusOr<size_t> TtlvMessageSize(std::span<const uint8_t> header,
                                       size_t max_bytes) {
  if (header.size() < kTtlvHeaderSize) return Malformed(0, "truncated header");
  uint32_t tag = (uint32_t{header[0]} << 16) | (uint32_t{header[1]} << 8) |
                 header[2];
  if (!ValidTag(tag)) return Malformed(0, "tag outside 0x42xxxx/0x54xxxx");
  if (header[3] != static_cast<uint8_t>(ItemType::kStructure)) {
    return Malformed(0, "a message must be a structure");
  }
  uint32_t length = ReadU32(header.data() + 4);
  if (length % 8 != 0) return Malformed(0, "structure length not a multiple of 8");
  size_t total = kTtlvHeaderSize + size_t{length};
  if (total > max_bytes) {
    return absl::ResourceExhaustedError("TTLV message larger than the limit");
  }
  return total;
}

absl::Status AppendTtlv(const Item& item, std::string& out) {
  uint32_t tag = item.tag();
  out.push_back(static_cast<char>(tag >> 16));
  out.push_back(static_cast<char>(tag >> 8));
  out.push_back(static_cast<char>(tag));
  out.push_back(static_cast<char>(item.type()));
  switch (item.type()) {
    case ItemType::kStructure: {
      size_t length_at = out.size();
      PutU32(out, 0);
      size_t start = out.size();
      for (const Item& child : item.children()) {
        KW_RETURN_IF_ERROR(AppendTtlv(child, out));
      }
      size_t length = out.size() - start;
      if (length > UINT32_MAX) {
        return absl::InvalidArgumentError("TTLV structure too large");
      }
      for (int i = 0; i < 4; ++i) {
        out[length_at + i] = static_cast<char>(length >> (24 - 8 * i));
      }
      return absl::OkStatus();
    }
    case ItemType::kInteger:
    case ItemType::kEnumeration:
    case ItemType::kInterval:
      PutU32(out, 4);
      PutU32(out, static_cast<uint32_t>(item.int_value()));
      PutU32(out, 0);
      return absl::OkStatus();
    case ItemType::kLongInteger:
    case ItemType::kDateTime:
    case ItemType::kDateTimeExtended:
    case ItemType::kBoolean:
      PutU32(out, 8);
      PutU64(out, static_cast<uint64_t>(item.int_value()));
      return absl::OkStatus();
    case ItemType::kBigInteger:
    case ItemType::kTextString:
    case ItemType::kByteString: {
      const std::string& b = item.bytes();
      if (item.type() == ItemType::kBigInteger &&
          (b.empty() || b.size() % 8 != 0)) {
        return absl::InvalidArgumentError(
            "Big Integer length not a non-zero multiple of 8");
      }
      if (item.type() == ItemType::kTextString && !ValidUtf8(b)) {
        return absl::InvalidArgumentError("Text String is not UTF-8");
      }
      if (b.size() > UINT32_MAX - 8) {
        return absl::InvalidArgumentError("TTLV value too large");
      }
      PutU32(out, static_cast<uint32_t>(b.size()));
      out.append(b);
      out.append(Padded(b.size()) - b.size(), '\0');
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unknown item type");
}

absl::StatusOr<std::string> EncodeTtlv(const Item& item) {
  std::string out;
  KW_RETURN_IF_ERROR(AppendTtlv(item, out));
  return out;
}

namespace {
void Dump(const Item& item, int indent, std::string& out) {
  out.append(static_cast<size_t>(indent) * 2, ' ');
  std::string_view name = TagName(item.tag());
  if (name.empty()) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%06X", item.tag());
    out.append(buf);
  } else {
    out.append(name);
  }
  StrAppend(&out, " ", ItemTypeName(item.type()));
  switch (item.type()) {
    case ItemType::kStructure:
      out.append("\n");
      for (const Item& c : item.children()) Dump(c, indent + 1, out);
      return;
    case ItemType::kTextString:
      StrAppend(&out, " \"", item.bytes(), "\"\n");
      return;
    case ItemType::kByteString:
    case ItemType::kBigInteger:
      StrAppend(&out, " (", item.bytes().size(), " bytes)\n");
      return;
    default:
      StrAppend(&out, " ", item.int_value(), "\n");
      return;
  }
}
}  // namespace

std::string DebugString(const Item& item) {
  std::string out;
  Dump(item, 0, out);
  return out;
}

}  // namespace keywarden::api::kmip
