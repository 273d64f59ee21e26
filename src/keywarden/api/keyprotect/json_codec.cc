#include "keywarden/api/keyprotect/json_codec.h"
#include "keywarden/api/keyprotect/json_codec_internal.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/strings.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/crypto/base64.h"

namespace keywarden::api::keyprotect {
namespace json = boost::json;

namespace json_internal {

absl::Status BadRequest(std::string_view detail,
                        std::optional<std::string_view> field) {
  return Error(Reason::kBadRequest, StrCat("Bad Request: ", detail), field);
}

absl::Status BadBody(std::string_view detail,
                     std::optional<std::string_view> field) {
  return Error(Reason::kBadBody,
               StrCat("Invalid body data was passed: ", detail), field);
}

bool IsBlank(std::string_view body) {
  return absl::StripAsciiWhitespace(AbslView(body)).empty();
}

namespace {

// Boost.JSON's value builder (json::parser) keeps the last of duplicate
// member names and drops the others, so they cannot be seen in the value
// afterwards. This handler builds the same value on a json::value_stack
// and, as each object ends, compares the member names it had.
class UniqueNamesHandler {
 public:
  static constexpr size_t max_object_size = json::object::max_size();
  static constexpr size_t max_array_size = json::array::max_size();
  static constexpr size_t max_key_size = json::string::max_size();
  static constexpr size_t max_string_size = json::string::max_size();

  UniqueNamesHandler(json::storage_ptr temp, unsigned char* buffer, size_t size)
      : st(std::move(temp), buffer, size) {}

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(size_t n, json::error_code& ec) {
    if (!NamesUnique(n)) {
      ec = json::error::syntax;  // stops the parser; Parse() reports it
      return false;
    }
    names_.resize(names_.size() - n);
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, size_t, json::error_code&) {
    partial_name_.append(s.data(), s.size());
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, size_t, json::error_code&) {
    partial_name_.append(s.data(), s.size());
    names_.push_back(std::move(partial_name_));
    partial_name_.clear();
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(int64_t i, json::string_view, json::error_code&) {
    st.push_int64(i);
    return true;
  }
  bool on_uint64(uint64_t u, json::string_view, json::error_code&) {
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

  // The repeated name, once on_object_end() has refused an object.
  const std::optional<std::string>& repeated() const { return repeated_; }

  json::value_stack st;

 private:
  // Objects up to this size are compared pairwise; larger ones sorted.
  static constexpr size_t kPairwiseMembers = 8;

  // Whether the last `n` names (the ending object's) differ in more than
  // ASCII case: Find() matches names in any case, as a Go encoding/json
  // server decodes them, so "plaintext" and "Plaintext" are the same member.
  bool NamesUnique(size_t n) {
    auto first = names_.end() - static_cast<ptrdiff_t>(n);
    if (n <= kPairwiseMembers) {
      for (auto i = first; i != names_.end(); ++i) {
        for (auto j = first; j != i; ++j) {
          if (absl::EqualsIgnoreCase(*i, *j)) {
            repeated_ = *i;
            return false;
          }
        }
      }
      return true;
    }
    std::vector<std::string> folded;
    folded.reserve(n);
    for (auto i = first; i != names_.end(); ++i) {
      folded.push_back(absl::AsciiStrToLower(*i));
    }
    std::sort(folded.begin(), folded.end());
    auto dup = std::adjacent_find(folded.begin(), folded.end());
    if (dup == folded.end()) return true;
    repeated_ = *dup;
    return false;
  }

  // The names of every object still open, innermost last. Inline storage
  // keeps the small data-plane bodies off the heap.
  absl::InlinedVector<std::string, 8> names_;
  std::string partial_name_;
  std::optional<std::string> repeated_;
};

// At most this much of a repeated name is quoted back.
constexpr size_t kMaxQuotedName = 64;

}  // namespace

// Parses `body`; an empty body or `null` gives a null value. `storage`
// lets the data-plane decoders parse into a stack buffer.
//
// I-JSON (RFC 7493 §2.3): member names within an object are unique. A body
// that repeats one, at any depth and in any case, is refused rather than
// read one way here and another way by whatever else reads it.
absl::StatusOr<json::value> Parse(std::string_view body,
                                  json::storage_ptr storage) {
  if (IsBlank(body)) return json::value(storage);
  // The value stack keeps partial strings (a plaintext DEK among them) in
  // this buffer, and past it in `storage` (a wiped arena on the data plane);
  // the buffer is overwritten on every return, like the arenas.
  unsigned char temp[BOOST_JSON_STACK_BUFFER_SIZE];
  struct WipeTemp {
    unsigned char* p;
    size_t n;
    ~WipeTemp() { WipeMemory(p, n); }
  } wipe_temp{temp, sizeof temp};
  json::basic_parser<UniqueNamesHandler> parser(
      json::parse_options(), storage, temp, sizeof temp);
  parser.handler().st.reset(storage);
  json::error_code ec;
  size_t used = parser.write_some(false, body.data(), body.size(), ec);
  if (const std::optional<std::string>& name = parser.handler().repeated()) {
    std::string_view quoted = std::string_view(*name).substr(0, kMaxQuotedName);
    return BadBody(StrCat("json: duplicate field \"", quoted,
                          "\" (member names must be unique, RFC 7493 §2.3)"),
                   quoted);
  }
  if (ec || used != body.size() || !parser.done()) {
    return BadBody("the body is not valid JSON");
  }
  return parser.handler().st.release();
}

// The object of an optional body: empty body, null and {} all mean "no
// fields"; anything else must be an object.
absl::StatusOr<json::object> OptionalObject(std::string_view body,
                                            json::storage_ptr storage) {
  KW_ASSIGN_OR_RETURN(json::value v, Parse(body, storage));
  if (v.is_null()) return json::object(storage);
  if (!v.is_object()) return BadBody("the body must be a JSON object");
  return std::move(v.as_object());
}

// Field lookup ignoring the case of the key, as a Go encoding/json server
// does (the Go client sends "Tags" and "KeyRingID").
const json::value* Find(const json::object& obj, std::string_view name) {
  if (auto it = obj.find(json::string_view(name.data(), name.size()));
      it != obj.end()) {
    return &it->value();
  }
  for (const auto& kv : obj) {
    std::string_view k(kv.key().data(), kv.key().size());
    if (absl::EqualsIgnoreCase(AbslView(k), AbslView(name))) return &kv.value();
  }
  return nullptr;
}

absl::StatusOr<std::optional<std::string>> OptString(const json::object& obj,
                                                     std::string_view name) {
  const json::value* v = Find(obj, name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    return Error(Reason::kBadBody,
                 StrCat("The field `", name, "` must be: a string"), name);
  }
  return std::string(v->as_string().data(), v->as_string().size());
}

absl::StatusOr<std::vector<std::string>> StringList(const json::object& obj,
                                                    std::string_view name,
                                                    Reason reason) {
  std::vector<std::string> out;
  const json::value* v = Find(obj, name);
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) {
    return Error(reason,
                 StrCat("The field `", name,
                              "` must be: an array of strings"),
                 name);
  }
  out.reserve(v->as_array().size());
  for (const json::value& item : v->as_array()) {
    if (!item.is_string()) {
      return Error(reason,
                   StrCat("The field `", name,
                                "` must be: an array of strings"),
                   name);
    }
    out.emplace_back(item.as_string().data(), item.as_string().size());
  }
  return out;
}

absl::StatusOr<json::array> Resources(std::string_view body,
                                      CollectionTypes types,
                                      std::optional<std::string_view> single) {
  KW_ASSIGN_OR_RETURN(json::value v, Parse(body));
  if (v.is_null()) return BadBody("the request has no body");
  if (!v.is_object()) return BadBody("the body must be a JSON object");
  json::object& obj = v.as_object();
  const json::value* metadata = Find(obj, "metadata");
  if (metadata == nullptr || !metadata->is_object() ||
      metadata->as_object().empty()) {
    return BadBody("CollectionMetadata is empty", "metadata");
  }
  // The envelope's fields are typed (§1.3): collectionType is the
  // endpoint's media type (compared in any case, RFC 6838 §4.2) and
  // collectionTotal an integer; either may be left out, neither may be null
  // or of another type.
  if (const json::value* type = Find(metadata->as_object(), "collectionType")) {
    bool known = false;
    if (type->is_string()) {
      std::string_view t(type->as_string().data(), type->as_string().size());
      for (std::string_view want : types) {
        known |= absl::EqualsIgnoreCase(AbslView(t), AbslView(want));
      }
    }
    if (!known) {
      return Error(
          Reason::kBadBody,
          StrCat("The field `collectionType` must be: ", *types.begin()),
          "collectionType");
    }
  }
  const json::value* total = Find(metadata->as_object(), "collectionTotal");
  if (total != nullptr && !total->is_int64() && !total->is_uint64()) {
    return Error(Reason::kBadBody,
                 "The field `collectionTotal` must be: an integer",
                 "collectionTotal");
  }
  const json::value* resources = Find(obj, "resources");
  if (resources == nullptr || !resources->is_array()) {
    return BadBody("the field `resources` must be an array", "resources");
  }
  const json::array& list = resources->as_array();
  // Key Protect answers a second key with BAD_BODY_ERR whatever the total
  // says (keyprotect-api.md §3.1, the "Error messages" examples).
  if (single.has_value() && list.size() != 1) {
    return BadBody(*single, "resources");
  }
  if (total != nullptr &&
      (total->is_uint64()
           ? total->as_uint64() != list.size()
           : total->as_int64() != static_cast<int64_t>(list.size()))) {
    return Error(Reason::kCollectionTotalMismatch,
                 "Collection total does not match number of resources",
                 "collectionTotal");
  }
  for (const json::value& r : list) {
    if (!r.is_object()) return BadBody("a resource must be an object");
  }
  return list;
}

absl::StatusOr<json::object> SingleResource(std::string_view body,
                                            CollectionTypes types,
                                            std::string_view one_only) {
  KW_ASSIGN_OR_RETURN(json::array list, Resources(body, types, one_only));
  return std::move(list[0].as_object());
}

void PutTime(json::object& obj, std::string_view name, absl::Time t) {
  obj[name] = FormatRfc3339(t);
}

std::string Collection(std::string_view type, json::array resources,
                       std::optional<int64_t> total_count) {
  json::object metadata;
  metadata["collectionType"] = type;
  metadata["collectionTotal"] = resources.size();
  if (total_count) metadata["totalCount"] = *total_count;
  json::object doc;
  doc["metadata"] = std::move(metadata);
  doc["resources"] = std::move(resources);
  return json::serialize(doc);
}

}  // namespace json_internal

namespace {

using namespace json_internal;  // NOLINT: this file is their home

// Wrap and unwrap bodies are small: parse them into this much stack before
// touching the heap.
constexpr size_t kDataPlaneParseBuffer = 4096;

// The parse arena of the data-plane decoders. The parsed strings include a
// plaintext DEK (wrap), so the stack buffer and any heap block the arena
// took for a larger body are overwritten before they are given back.
class WipedArena {
 public:
  WipedArena() = default;
  WipedArena(const WipedArena&) = delete;
  WipedArena& operator=(const WipedArena&) = delete;
  // Runs before the members' destructors: arena_ then frees its heap
  // blocks through upstream_, which wipes each.
  ~WipedArena() { WipeMemory(buffer_, sizeof buffer_); }

  json::storage_ptr storage() { return &arena_; }

 private:
  // Each block starts with a header that records its size: the arena does
  // not promise to free a block with the size it asked for.
  class WipingUpstream final : public json::memory_resource {
    static std::size_t HeaderFor(std::size_t align) {
      return std::max(align, alignof(std::max_align_t));
    }
    void* do_allocate(std::size_t n, std::size_t align) override {
      const std::size_t header = HeaderFor(align);
      auto* raw = static_cast<unsigned char*>(
          ::operator new(header + n, std::align_val_t(header)));
      std::memcpy(raw, &n, sizeof n);
      return raw + header;
    }
    void do_deallocate(void* p, std::size_t, std::size_t align) override {
      const std::size_t header = HeaderFor(align);
      unsigned char* raw = static_cast<unsigned char*>(p) - header;
      std::size_t n;
      std::memcpy(&n, raw, sizeof n);
      WipeMemory(p, n);
      ::operator delete(raw, std::align_val_t(header));
    }
    bool do_is_equal(
        const json::memory_resource& other) const noexcept override {
      return this == &other;
    }
  };

  unsigned char buffer_[kDataPlaneParseBuffer];
  WipingUpstream upstream_;
  json::monotonic_resource arena_{buffer_, sizeof buffer_, &upstream_};
};

// Appends `piece` to `out` without leaving a copy of `out` in freed memory:
// growth is done by hand, wiping the old allocation.
void AppendNoResidue(std::string& out, std::string_view piece) {
  if (out.size() + piece.size() > out.capacity()) {
    std::string bigger;
    bigger.reserve(std::max(out.capacity() * 2, out.size() + piece.size()));
    bigger.append(out);
    WipeString(out);
    out.swap(bigger);
  }
  out.append(piece);
}

// json::serialize for a document holding key material: the output grows
// without leaving copies behind, and the stack chunk is wiped.
std::string SerializeNoResidue(const json::value& doc, size_t expected) {
  json::serializer sr;
  sr.reset(&doc);
  std::string out;
  out.reserve(expected);
  char chunk[2048];
  while (!sr.done()) {
    json::string_view part = sr.read(chunk, sizeof chunk);
    AppendNoResidue(out, std::string_view(part.data(), part.size()));
  }
  WipeMemory(chunk, sizeof chunk);
  return out;
}

constexpr std::string_view kKeyType = "application/vnd.ibm.kms.key+json";
constexpr std::string_view kAliasType = "application/vnd.ibm.kms.alias+json";
constexpr std::string_view kKeyRingType =
    "application/vnd.ibm.kms.key_ring+json";
constexpr std::string_view kVersionType =
    "application/vnd.ibm.kms.key.version+json";
constexpr std::string_view kErrorType = "application/vnd.ibm.kms.error+json";
constexpr std::string_view kMoreInfo = "https://cloud.ibm.com/apidocs/key-protect";

json::object VersionObject(const service::VersionInfo& v) {
  json::object o;
  o["id"] = v.id;
  PutTime(o, "creationDate", v.creation_time);
  return o;
}

json::object KeyObject(const service::KeyResult& result,
                       const KeyRenderOptions& options) {
  const keys::Key& k = result.key;
  json::object o;
  o["type"] = kKeyType;
  o["id"] = k.id;
  if (options.view == KeyView::kMinimal) return o;
  o["name"] = k.name;
  if (!k.description.empty()) o["description"] = k.description;
  json::array tags;
  for (const std::string& t : k.tags) tags.emplace_back(t);
  o["tags"] = std::move(tags);
  o["state"] = static_cast<int>(k.state);
  if (k.expiration_time) PutTime(o, "expirationDate", *k.expiration_time);
  o["extractable"] = k.extractable;
  o["crn"] = StrCat(options.crn_prefix, k.instance_id, ":key:", k.id);
  o["imported"] = k.imported;
  o["keyRingID"] = k.key_ring_id;
  if (!k.aliases.empty()) {
    json::array aliases;
    for (const std::string& a : k.aliases) aliases.emplace_back(a);
    o["aliases"] = std::move(aliases);
  }
  PutTime(o, "creationDate", k.creation_time);
  o["createdBy"] = k.created_by;
  PutTime(o, "lastUpdateDate", k.last_update_time);
  if (k.last_rotate_time) PutTime(o, "lastRotateDate", *k.last_rotate_time);
  if (k.IsRoot() && !k.versions.empty()) {
    o["keyVersion"] = VersionObject({k.Primary().id, k.Primary().creation_time});
  }
  {
    json::object dual;
    dual["enabled"] = k.DualAuthEnabled();
    // keySetForDeletion only for a dual-auth key, authExpiration only while
    // an approval stands (keyprotect-api.md §6).
    if (k.DualAuthEnabled()) {
      dual["keySetForDeletion"] = !k.deletion_authorized_by.empty();
      if (k.deletion_authorization_expiration) {
        PutTime(dual, "authExpiration", *k.deletion_authorization_expiration);
      }
    }
    o["dualAuthDelete"] = std::move(dual);
  }
  if (k.rotation_policy) {
    json::object rotation;
    rotation["enabled"] = k.rotation_policy->enabled;
    rotation["interval_month"] = k.rotation_policy->interval_months;
    o["rotation"] = std::move(rotation);
  }
  o["deleted"] = k.state == keys::KeyState::kDestroyed;
  if (k.deletion_time) {
    PutTime(o, "deletionDate", *k.deletion_time);
    o["deletedBy"] = k.deleted_by;
  }
  if (result.deletion) {
    const service::DeletionInfo& d = *result.deletion;
    o["restoreAllowed"] = d.restore_allowed;
    PutTime(o, "restoreExpirationDate", d.restore_expiration);
    o["purgeAllowed"] = d.purge_allowed;
    PutTime(o, "purgeAllowedFrom", d.purge_allowed_from);
    PutTime(o, "purgeScheduledOn", d.purge_scheduled_on);
  }
  o["algorithmType"] = "AES";
  o["algorithmBitSize"] = k.material_bits;
  o["algorithmMode"] = "Deprecated";
  o["algorithmMetadata"] = json::object{
      {"bitLength", std::to_string(k.material_bits)}, {"mode", "Deprecated"}};
  if (options.include_payload && result.payload) {
    std::string payload = crypto::Base64Encode(result.payload->span());
    o["payload"] = payload;
    WipeString(payload);
  }
  return o;
}

}  // namespace

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

bool ParseRfc3339(std::string_view text, absl::Time* out) {
  std::string err;
  return absl::ParseTime(absl::RFC3339_full, AbslView(text), out, &err);
}

namespace {

// Strictly decodes the base64 `text` of `field`; a failure is
// INVALID_FIELD_ERR "The field `<field>` must be: <what>: illegal base64
// data at input byte N" targeting `field`.
service::Decoded<SecretBytes> DecodeBase64Text(std::string_view text,
                                               std::string_view field,
                                               std::string_view what) {
  absl::StatusOr<SecretBytes> bytes = crypto::Base64Decode(text);
  if (!bytes.ok()) {
    return Error(Reason::kInvalidField,
                 StrCat("The field `", field, "` must be: ", what, ": ",
                        bytes.status().message()),
                 field);
  }
  return bytes;
}

// A DEK or WDEK given in base64 (wrap's `plaintext`, unwrap's
// `ciphertext`), decoded from the text in the parsed body (never copied
// into a string). Errors are the field's, reported by the service where it
// validates that field, after authorization and the key's state, as Key
// Protect does.
service::Decoded<SecretBytes> DecodeBase64Input(
    std::optional<std::string_view> text, std::string_view field,
    std::string_view what, size_t max_chars, bool with_limit_in_message) {
  if (!text.has_value() || text->empty() || text->size() > max_chars) {
    return Error(Reason::kInvalidField,
                 with_limit_in_message
                     ? StrCat("The field `", field, "` must be: ", what,
                              " of 1 to ", max_chars, " characters")
                     : StrCat("The field `", field, "` must be: ", what),
                 field);
  }
  return DecodeBase64Text(*text, field, what);
}

// keyprotect-api.md §4: at most 4096 characters of base64 plaintext and
// 8192 of ciphertext.
constexpr size_t kMaxPlaintextBase64 = 4096;
constexpr size_t kMaxCiphertextBase64 = 8192;

absl::StatusOr<std::optional<std::string_view>> OptStringView(
    const json::object& obj, std::string_view name) {
  const json::value* v = Find(obj, name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    return Error(Reason::kBadBody,
                 StrCat("The field `", name, "` must be: a string"), name);
  }
  return std::string_view(v->as_string().data(), v->as_string().size());
}

// The material fields of a create or rotate (keyprotect-api.md §3.1, §8):
// base64, decoded here; a field that does not decode reaches the service
// as its error, which it reports where it reads the material (after the
// import policy and the import token checks).
template <typename Request>
absl::Status DecodeMaterialFields(const json::object& obj, Request& req) {
  KW_ASSIGN_OR_RETURN(std::optional<std::string_view> payload,
                      OptStringView(obj, "payload"));
  KW_ASSIGN_OR_RETURN(std::optional<std::string_view> nonce,
                      OptStringView(obj, "encryptedNonce"));
  KW_ASSIGN_OR_RETURN(std::optional<std::string_view> iv,
                      OptStringView(obj, "iv"));
  const bool secure = nonce.has_value() || iv.has_value();
  if (payload.has_value()) {
    req.payload = DecodeBase64Text(
        *payload, "payload",
        secure ? "key material encrypted with the import token's public key"
               : "a base64 encoded key material");
  }
  if (nonce.has_value()) {
    req.encrypted_nonce = DecodeBase64Text(
        *nonce, "encryptedNonce",
        "the import token's nonce encrypted with the key material");
  }
  if (iv.has_value()) {
    req.iv = DecodeBase64Text(*iv, "iv", "a 12-byte AES-GCM IV");
  }
  KW_ASSIGN_OR_RETURN(req.encryption_algorithm,
                      OptString(obj, "encryptionAlgorithm"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<service::CreateKeyRequest> DecodeCreateKey(
    std::string_view body, bool with_policy_overrides) {
  KW_ASSIGN_OR_RETURN(
      json::object r,
      SingleResource(body, {kKeyType},
                     "Only creation of one key per request is supported"));
  service::CreateKeyRequest req;
  req.with_policy_overrides = with_policy_overrides;
  if (with_policy_overrides) {
    KW_ASSIGN_OR_RETURN(req.rotation, DecodeRotationPolicy(r));
    KW_ASSIGN_OR_RETURN(req.dual_auth_delete, DecodeDualAuthPolicy(r));
  }
  KW_ASSIGN_OR_RETURN(std::optional<std::string> type, OptString(r, "type"));
  if (type && *type != kKeyType) {
    return Error(Reason::kBadBody,
                 StrCat("The field `type` must be: ", kKeyType), "type");
  }
  KW_ASSIGN_OR_RETURN(std::optional<std::string> name, OptString(r, "name"));
  if (!name) {
    return Error(Reason::kBadBody, "The field `name` must be: present", "name");
  }
  req.name = *std::move(name);
  KW_ASSIGN_OR_RETURN(req.description, OptString(r, "description"));
  KW_ASSIGN_OR_RETURN(req.tags, StringList(r, "tags", Reason::kBadBody));
  KW_ASSIGN_OR_RETURN(req.aliases,
                      StringList(r, "aliases", Reason::kBadBody));
  KW_ASSIGN_OR_RETURN(std::optional<std::string> expiration,
                      OptString(r, "expirationDate"));
  if (expiration) {
    absl::Time t;
    if (!ParseRfc3339(*expiration, &t)) {
      return Error(Reason::kBadBody,
                   "The field `expirationDate` must be: an RFC 3339 date",
                   "expirationDate");
    }
    req.expiration_time = t;
  }
  if (const json::value* v = Find(r, "extractable"); v && !v->is_null()) {
    if (!v->is_bool()) {
      return Error(Reason::kBadBody,
                   "The field `extractable` must be: a boolean", "extractable");
    }
    req.extractable = v->as_bool();
  }
  KW_RETURN_IF_ERROR(DecodeMaterialFields(r, req));
  return req;
}

absl::StatusOr<service::PatchKeyRequest> DecodePatchKey(std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::value v, Parse(body));
  if (v.is_null()) return Error(Reason::kNoBody, "Missing body in request");
  if (!v.is_object()) return BadBody("the body must be a JSON object");
  // The Node SDK sends the attribute bare, the Go client as `KeyRingID`;
  // an envelope with one resource is taken too (keyprotect-api.md §3.5).
  json::object obj = v.as_object();
  if (Find(obj, "resources") != nullptr) {
    KW_ASSIGN_OR_RETURN(
        obj, SingleResource(body, {kKeyType},
                            "Only one key per request is supported"));
  }
  KW_ASSIGN_OR_RETURN(std::optional<std::string> ring,
                      OptString(obj, "keyRingID"));
  if (!ring || ring->empty()) {
    return Error(Reason::kBadBody,
                 "The field `keyRingID` must be: the id of a key ring",
                 "keyRingID");
  }
  service::PatchKeyRequest req;
  req.key_ring_id = *std::move(ring);
  return req;
}


absl::StatusOr<service::WrapRequest> DecodeWrap(std::string_view body) {
  WipedArena arena;
  KW_ASSIGN_OR_RETURN(json::object obj, OptionalObject(body, arena.storage()));
  service::WrapRequest req;
  KW_ASSIGN_OR_RETURN(std::optional<std::string_view> plaintext,
                      OptStringView(obj, "plaintext"));
  KW_ASSIGN_OR_RETURN(req.aad, StringList(obj, "aad", Reason::kInvalidField));
  if (plaintext.has_value()) {
    req.plaintext = DecodeBase64Input(plaintext, "plaintext",
                                      "a base64 encoded key material",
                                      kMaxPlaintextBase64, true);
  }
  return req;
}

absl::StatusOr<service::UnwrapRequest> DecodeUnwrap(std::string_view body) {
  WipedArena arena;
  KW_ASSIGN_OR_RETURN(json::value v, Parse(body, arena.storage()));
  if (v.is_null()) return Error(Reason::kNoBody, "Missing body in request");
  if (!v.is_object()) return BadBody("the body must be a JSON object");
  const json::object& obj = v.as_object();
  service::UnwrapRequest req;
  KW_ASSIGN_OR_RETURN(std::optional<std::string_view> ciphertext,
                      OptStringView(obj, "ciphertext"));
  KW_ASSIGN_OR_RETURN(req.aad, StringList(obj, "aad", Reason::kInvalidField));
  service::Decoded<SecretBytes> raw = DecodeBase64Input(
      ciphertext, "ciphertext",
      "the original base64 encoded ciphertext from the wrap operation",
      kMaxCiphertextBase64, false);
  if (raw.ok()) {
    req.ciphertext = std::vector<uint8_t>(raw->span().begin(), raw->span().end());
  } else {
    req.ciphertext = raw.status();
  }
  return req;
}

absl::StatusOr<service::RotateRequest> DecodeRotate(std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::object obj, OptionalObject(body));
  service::RotateRequest req;
  KW_RETURN_IF_ERROR(DecodeMaterialFields(obj, req));
  return req;
}

absl::Status DecodeIgnoredBody(std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::value v, Parse(body));
  (void)v;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> DecodeClockAdvance(std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::object obj, OptionalObject(body));
  const json::value* v = Find(obj, "seconds");
  if (v == nullptr || !(v->is_int64() || v->is_uint64()) ||
      v->to_number<int64_t>() < 0) {
    return BadBody("`seconds` must be a non-negative integer", "seconds");
  }
  return v->to_number<int64_t>();
}

std::string EncodeKeys(const std::vector<const service::KeyResult*>& keys,
                       const KeyRenderOptions& options) {
  json::array resources;
  resources.reserve(keys.size());
  size_t payload_bytes = 0;
  for (const service::KeyResult* k : keys) {
    resources.emplace_back(KeyObject(*k, options));
    if (options.include_payload && k->payload) {
      payload_bytes += k->payload->size();
    }
  }
  if (payload_bytes == 0) return Collection(kKeyType, std::move(resources));
  // A standard key's material: serialized without residue, and its text in
  // the document overwritten in place before the document is freed.
  json::object metadata;
  metadata["collectionType"] = kKeyType;
  metadata["collectionTotal"] = resources.size();
  json::object doc;
  doc["metadata"] = std::move(metadata);
  doc["resources"] = std::move(resources);
  std::string out = SerializeNoResidue(doc, 2048 + 2 * payload_bytes);
  for (json::value& v : doc["resources"].as_array()) {
    json::object& o = v.as_object();
    if (auto it = o.find("payload"); it != o.end() && it->value().is_string()) {
      json::string& text = it->value().as_string();
      WipeMemory(text.data(), text.size());
    }
  }
  return out;
}

std::string EncodeKeyList(const service::ListKeysResult& list,
                          const KeyRenderOptions& options) {
  json::array resources;
  resources.reserve(list.keys.size());
  for (const service::KeyResult& k : list.keys) {
    resources.emplace_back(KeyObject(k, options));
  }
  json::object metadata;
  metadata["collectionType"] = kKeyType;
  metadata["collectionTotal"] = resources.size();
  if (list.search.has_value()) {
    // keyprotect-api.md §3.3: the search as understood.
    const keys::KeySearch& q = *list.search;
    json::array scopes;
    for (const std::string& scope : q.scopes) scopes.emplace_back(scope);
    if (scopes.empty()) {
      scopes.emplace_back("name");
      scopes.emplace_back("alias");
    }
    metadata["searchQuery"] = json::object{{"query", q.term},
                                           {"scopes", std::move(scopes)},
                                           {"not", q.negate},
                                           {"exact", q.exact}};
    metadata["incompleteSearch"] = list.incomplete_search;
  }
  json::object doc;
  doc["metadata"] = std::move(metadata);
  doc["resources"] = std::move(resources);
  return json::serialize(doc);
}

// The data-plane results are flat objects of base64 and UUID strings, which
// need no escaping; they are written directly to keep wrap/unwrap cheap.
std::string EncodeWrap(const service::WrapResult& r) {
  // A generated DEK's base64 goes through `b64` only, which is wiped; the
  // reserve keeps `out` from growing (and leaving a copy behind).
  std::string b64;
  if (r.plaintext) b64 = crypto::Base64Encode(r.plaintext->span());
  std::string out;
  out.reserve(96 + (r.ciphertext.size() + 2) / 3 * 4 + r.key_version.id.size() +
              b64.size());
  out.append("{");
  if (r.plaintext) {
    StrAppend(&out, "\"plaintext\":\"", b64, "\",");
    WipeString(b64);
  }
  StrAppend(&out, "\"ciphertext\":\"", crypto::Base64Encode(r.ciphertext),
                  "\",\"keyVersion\":{\"id\":\"", r.key_version.id, "\"}}");
  return out;
}

std::string EncodeUnwrap(const service::UnwrapResult& r) {
  // As in EncodeWrap: the plaintext's base64 is wiped and `out` never grows.
  std::string b64 = crypto::Base64Encode(r.plaintext.span());
  std::string out;
  out.reserve(160 + b64.size() + r.key_version.id.size() +
              (r.rewrapped_ciphertext
                   ? (r.rewrapped_ciphertext->size() + 2) / 3 * 4
                   : 0) +
              (r.rewrapped_key_version ? r.rewrapped_key_version->id.size()
                                       : 0));
  StrAppend(&out, "{\"plaintext\":\"", b64,
                  "\",\"keyVersion\":{\"id\":\"", r.key_version.id, "\"}");
  WipeString(b64);
  if (r.rewrapped_ciphertext && r.rewrapped_key_version) {
    StrAppend(&out, ",\"ciphertext\":\"",
              crypto::Base64Encode(*r.rewrapped_ciphertext),
                    "\",\"rewrappedKeyVersion\":{\"id\":\"",
                    r.rewrapped_key_version->id, "\"}");
  }
  out.append("}");
  return out;
}

std::string EncodeRewrap(const service::RewrapResult& r) {
  json::object o;
  o["ciphertext"] = crypto::Base64Encode(r.ciphertext);
  o["keyVersion"] = VersionObject(r.key_version);
  o["rewrappedKeyVersion"] = VersionObject(r.rewrapped_key_version);
  return json::serialize(o);
}

std::string EncodeVersions(const service::ListVersionsResult& r) {
  json::array resources;
  for (const service::VersionInfo& v : r.versions) {
    resources.emplace_back(VersionObject(v));
  }
  return Collection(kVersionType, std::move(resources), r.total);
}

std::string EncodeKeyRings(const service::ListKeyRingsResult& r) {
  json::array resources;
  for (const store::KeyRing& ring : r.rings) {
    json::object o;
    o["id"] = ring.id;
    // `default` is implicit and shows only its id (keyprotect-api.md §9).
    if (ring.id != "default") {
      PutTime(o, "creationDate", ring.creation_time);
      o["createdBy"] = ring.created_by;
    }
    resources.emplace_back(std::move(o));
  }
  return Collection(kKeyRingType, std::move(resources), r.total);
}

std::string EncodeAlias(const store::KeyAlias& a) {
  json::object o;
  o["keyId"] = a.key_id;
  o["alias"] = a.alias;
  o["createdBy"] = a.created_by;
  PutTime(o, "creationDate", a.creation_time);
  json::array resources;
  resources.emplace_back(std::move(o));
  return Collection(kAliasType, std::move(resources));
}

std::string EncodeError(std::string_view error_msg, std::string_view code,
                        std::string_view message, int http_status,
                        const std::string* field) {
  json::object reason;
  reason["code"] = code;
  reason["message"] = message;
  reason["status"] = http_status;
  reason["moreInfo"] = kMoreInfo;
  if (field != nullptr) {
    reason["target"] = json::object{{"type", "field"}, {"name", *field}};
  }
  json::object resource;
  resource["errorMsg"] = error_msg;
  resource["reasons"] = json::array{std::move(reason)};
  return Collection(kErrorType, json::array{std::move(resource)});
}

}  // namespace keywarden::api::keyprotect
