#include "keywarden/iam/jwt_json.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/common/strings.h"

namespace keywarden::iam::jwt_json {
namespace {

absl::Status ErrorAt(std::string_view what, size_t offset) {
  return absl::InvalidArgumentError(
      StrCat("invalid JSON: ", what, " at byte ", offset));
}

// A cursor over the input. Every read checks bounds first.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  absl::StatusOr<Object> ReadObject() {
    SkipWhitespace();
    if (!Consume('{')) return ErrorAt("expected an object", pos_);
    Object object;
    SkipWhitespace();
    if (Consume('}')) return Finish(std::move(object));
    while (true) {
      SkipWhitespace();
      const size_t name_at = pos_;
      if (Peek() != '"') return ErrorAt("expected a member name", pos_);
      auto name = ReadString();
      if (!name.ok()) return name.status();
      if (object.Find(*name) != nullptr) {
        return ErrorAt("duplicate member name", name_at);
      }
      if (object.members().size() == kMaxMembers) {
        return ErrorAt("too many members", name_at);
      }
      SkipWhitespace();
      if (!Consume(':')) return ErrorAt("expected ':'", pos_);
      SkipWhitespace();
      auto value = ReadValue();
      if (!value.ok()) return value.status();
      object.Set(*std::move(name), *std::move(value));
      SkipWhitespace();
      if (Consume(',')) continue;
      if (Consume('}')) return Finish(std::move(object));
      return ErrorAt("expected ',' or '}'", pos_);
    }
  }

 private:
  static constexpr int kEnd = -1;

  int Peek() const {
    return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : kEnd;
  }
  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool ConsumeWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      return true;
    }
    return false;
  }
  // RFC 8259 §2: space, tab, line feed, carriage return.
  void SkipWhitespace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  absl::StatusOr<Object> Finish(Object object) {
    SkipWhitespace();
    if (pos_ != text_.size()) return ErrorAt("trailing data", pos_);
    return object;
  }

  absl::StatusOr<Value> ReadValue() {
    const int c = Peek();
    if (c == '"') {
      auto s = ReadString();
      if (!s.ok()) return s.status();
      return Value(*std::move(s));
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      auto n = ReadInteger();
      if (!n.ok()) return n.status();
      return Value(*n);
    }
    if (ConsumeWord("true")) return Value(true);
    if (ConsumeWord("false")) return Value(false);
    // null, objects, arrays and anything else: a JWT header or claims set
    // of ours never holds them.
    return ErrorAt("unsupported value", pos_);
  }

  // RFC 8259 §6, restricted to integers that fit int64_t.
  absl::StatusOr<int64_t> ReadInteger() {
    const size_t start = pos_;
    const bool negative = Consume('-');
    if (Peek() < '0' || Peek() > '9') return ErrorAt("expected a digit", pos_);
    if (Peek() == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' &&
        text_[pos_ + 1] <= '9') {
      return ErrorAt("leading zero", pos_);
    }
    // Accumulate as a negative number: its range includes INT64_MIN.
    int64_t value = 0;
    while (Peek() >= '0' && Peek() <= '9') {
      const int digit = Peek() - '0';
      if (value < (std::numeric_limits<int64_t>::min() + digit) / 10) {
        return ErrorAt("number out of range", start);
      }
      value = value * 10 - digit;
      ++pos_;
    }
    if (Peek() == '.' || Peek() == 'e' || Peek() == 'E') {
      return ErrorAt("only integers are supported", pos_);
    }
    if (!negative) {
      if (value == std::numeric_limits<int64_t>::min()) {
        return ErrorAt("number out of range", start);
      }
      value = -value;
    }
    return value;
  }

  absl::StatusOr<uint32_t> ReadHex4() {
    if (text_.size() - pos_ < 4) return ErrorAt("short \\u escape", pos_);
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_ + i];
      uint32_t d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else {
        return ErrorAt("bad \\u escape", pos_ + i);
      }
      v = (v << 4) | d;
    }
    pos_ += 4;
    return v;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  // Length of the well-formed UTF-8 sequence at pos_ (RFC 3629 §4: no
  // overlong forms, no surrogates, nothing above U+10FFFF), or 0.
  size_t Utf8SequenceLength() const {
    const auto byte = [&](size_t i) -> int {
      return pos_ + i < text_.size()
                 ? static_cast<unsigned char>(text_[pos_ + i])
                 : -1;
    };
    const auto cont = [&](size_t i, int lo = 0x80, int hi = 0xbf) {
      const int b = byte(i);
      return b >= lo && b <= hi;
    };
    const int b0 = byte(0);
    if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
    if (b0 == 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
    if ((b0 >= 0xe1 && b0 <= 0xec) || b0 == 0xee || b0 == 0xef) {
      return cont(1) && cont(2) ? 3 : 0;
    }
    if (b0 == 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
    if (b0 == 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (b0 >= 0xf1 && b0 <= 0xf3) {
      return cont(1) && cont(2) && cont(3) ? 4 : 0;
    }
    if (b0 == 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
    return 0;
  }

  // RFC 8259 §7. Precondition: Peek() == '"'.
  absl::StatusOr<std::string> ReadString() {
    ++pos_;
    std::string out;
    while (true) {
      const int c = Peek();
      if (c == kEnd) return ErrorAt("unterminated string", pos_);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) return ErrorAt("control character in string", pos_);
      if (c >= 0x80) {
        const size_t len = Utf8SequenceLength();
        if (len == 0) return ErrorAt("invalid UTF-8", pos_);
        out.append(text_.substr(pos_, len));
        pos_ += len;
        continue;
      }
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        ++pos_;
        continue;
      }
      ++pos_;
      const int e = Peek();
      ++pos_;
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          const size_t at = pos_ - 2;
          auto hi = ReadHex4();
          if (!hi.ok()) return hi.status();
          uint32_t cp = *hi;
          if (cp >= 0xdc00 && cp <= 0xdfff) {
            return ErrorAt("unpaired surrogate", at);
          }
          if (cp >= 0xd800 && cp <= 0xdbff) {
            if (!ConsumeWord("\\u")) return ErrorAt("unpaired surrogate", at);
            auto lo = ReadHex4();
            if (!lo.ok()) return lo.status();
            if (*lo < 0xdc00 || *lo > 0xdfff) {
              return ErrorAt("unpaired surrogate", at);
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (*lo - 0xdc00);
          }
          AppendUtf8(cp, &out);
          break;
        }
        default:
          return ErrorAt("bad escape", pos_ - 2);
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

void AppendQuoted(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

}  // namespace

const Value* Object::Find(std::string_view name) const {
  for (const auto& [n, v] : members_) {
    if (n == name) return &v;
  }
  return nullptr;
}

absl::StatusOr<Object> Parse(std::string_view text) {
  if (text.size() > kMaxTextSize) return ErrorAt("text too long", kMaxTextSize);
  return Reader(text).ReadObject();
}

std::string Serialize(const Object& object) {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : object.members()) {
    if (!first) out.push_back(',');
    first = false;
    AppendQuoted(name, &out);
    out.push_back(':');
    if (const auto* s = std::get_if<std::string>(&value)) {
      AppendQuoted(*s, &out);
    } else if (const auto* n = std::get_if<int64_t>(&value)) {
      out.append(std::to_string(*n));
    } else {
      out.append(std::get<bool>(value) ? "true" : "false");
    }
  }
  out.push_back('}');
  return out;
}

}  // namespace keywarden::iam::jwt_json
