#ifndef KEYWARDEN_API_KMIP_MESSAGES_H_
#define KEYWARDEN_API_KMIP_MESSAGES_H_

// KMIP request and response messages (KMIP 1.4 §7, KMIP 2.0 §8) and the
// typed payloads of the supported operations (KMIP 1.4 §4, KMIP 2.0 §6).
// KMIP 1.x carries attributes as Template-Attribute / Attribute(name, index,
// value); KMIP 2.0 as an Attributes structure of the attributes' own tags.
// Both decode to the same AttributeList, so a backend never sees the
// version's encoding. docs/formats/kmip.md describes the layer.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/api/kmip/tags.h"
#include "keywarden/api/kmip/ttlv.h"
#include "keywarden/common/secret_bytes.h"

namespace keywarden::api::kmip {

struct ProtocolVersion {
  int32_t major = 1;
  int32_t minor = 4;
  friend auto operator<=>(const ProtocolVersion&,
                          const ProtocolVersion&) = default;
};

// The versions this layer speaks, newest first (Discover Versions' answer).
const std::vector<ProtocolVersion>& SupportedVersions();
bool IsSupported(const ProtocolVersion& version);

// ---------------------------------------------------------------------------
// Attributes

// Names an attribute: a standard one by its tag, or a KMIP 1.x custom
// attribute ("x-..." / "y-...") by its name (tag 0).
struct AttributeName {
  uint32_t tag = 0;
  std::string custom_name;
  friend bool operator==(const AttributeName&, const AttributeName&) = default;
};

// One attribute instance. `value` is the attribute's value as an item
// tagged with the attribute's own tag (the KMIP 2.0 form), whatever the
// version it came in; for a custom attribute its tag is Attribute Value.
struct Attribute {
  AttributeName name;
  int32_t index = 0;  // KMIP 1.x Attribute Index; 0 when absent
  Item value;
};

// The 1.x name of a standard attribute ("Cryptographic Algorithm"), or ""
// when the tag is not an attribute this layer knows.
std::string_view AttributeNameText(uint32_t tag);
// The tag of a standard attribute's 1.x name, or 0.
uint32_t AttributeTagOf(std::string_view name);

// An ordered list of attributes with typed accessors for the ones the
// operations interpret. Thread-compatible.
class AttributeList {
 public:
  std::vector<Attribute> items;

  const Attribute* Find(Tag tag) const;
  std::vector<const Attribute*> FindAll(Tag tag) const;
  // The value of a single-valued Integer/Enumeration/Boolean/Date-Time
  // attribute, if present.
  std::optional<int64_t> IntValue(Tag tag) const;
  std::optional<CryptographicAlgorithm> algorithm() const;
  std::optional<int32_t> length() const;
  std::optional<int32_t> usage_mask() const;
  std::optional<ObjectType> object_type() const;
  std::optional<State> state() const;
  // Every Name attribute's Name Value.
  std::vector<std::string> names() const;

  void Add(Attribute attribute) { items.push_back(std::move(attribute)); }
  // Convenience builders for backends.
  void AddEnum(Tag tag, uint32_t value);
  void AddInteger(Tag tag, int32_t value);
  void AddText(Tag tag, std::string value);
  void AddDateTime(Tag tag, int64_t seconds);
  void AddName(std::string value);
};

// ---------------------------------------------------------------------------
// Objects and parameters

// A managed object's value (KMIP 1.4 §2.2): key material in a Key Block for
// keys, Secret Data for secret data. Key wrapping is not supported.
struct ManagedObject {
  ObjectType object_type = ObjectType::kSymmetricKey;
  KeyFormatType key_format_type = KeyFormatType::kRaw;
  std::optional<CryptographicAlgorithm> algorithm;
  std::optional<int32_t> length;
  // Raw, Opaque, PKCS#1, PKCS#8 and X.509 key bytes; a Transparent
  // Symmetric Key's Key; Secret Data's bytes.
  SecretBytes material;
  // Transparent RSA keys: (Modulus | Private Exponent | Public Exponent |
  // P | Q | Prime Exponent P | Prime Exponent Q | CRT Coefficient, its Big
  // Integer bytes), in the order of KMIP 1.4 §2.1.7.3/4.
  std::vector<std::pair<Tag, SecretBytes>> transparent;
  std::optional<SecretDataType> secret_data_type;
};

// Cryptographic Parameters (KMIP 1.4 §3.6): the members Encrypt, Decrypt,
// MAC, Sign and Signature Verify interpret.
struct CryptographicParameters {
  std::optional<BlockCipherMode> block_cipher_mode;
  std::optional<PaddingMethod> padding_method;
  std::optional<HashingAlgorithm> hashing_algorithm;
  std::optional<CryptographicAlgorithm> cryptographic_algorithm;
  std::optional<DigitalSignatureAlgorithm> digital_signature_algorithm;
  std::optional<bool> random_iv;
  std::optional<int32_t> iv_length;   // bits
  std::optional<int32_t> tag_length;  // bytes
};

// ---------------------------------------------------------------------------
// Operation payloads. A request's unique_identifier is already resolved:
// when the client omitted it, the batch's ID Placeholder (KMIP 1.4 §4.0) was
// filled in by the message layer.

struct CreateRequest {
  ObjectType object_type = ObjectType::kSymmetricKey;
  AttributeList attributes;
};
struct CreateResponse {
  ObjectType object_type = ObjectType::kSymmetricKey;
  std::string unique_identifier;
};

struct CreateKeyPairRequest {
  AttributeList common_attributes;
  AttributeList private_key_attributes;
  AttributeList public_key_attributes;
};
struct CreateKeyPairResponse {
  std::string private_key_unique_identifier;
  std::string public_key_unique_identifier;
};

struct RegisterRequest {
  ObjectType object_type = ObjectType::kSymmetricKey;
  AttributeList attributes;
  ManagedObject object;
};

struct GetRequest {
  std::string unique_identifier;
  std::optional<KeyFormatType> key_format_type;
};
struct GetResponse {
  std::string unique_identifier;
  ManagedObject object;
};

struct GetAttributesRequest {
  std::string unique_identifier;
  std::vector<AttributeName> names;  // empty: every attribute
};
struct GetAttributesResponse {
  std::string unique_identifier;
  AttributeList attributes;
};

struct GetAttributeListResponse {
  std::string unique_identifier;
  std::vector<AttributeName> names;
};

// Add Attribute and Modify Attribute (1.x: Attribute; 2.0: New Attribute,
// and for Modify an optional Current Attribute).
struct AttributeChangeRequest {
  std::string unique_identifier;
  std::optional<Attribute> current;  // 2.0 Modify only
  Attribute attribute;
};
struct AttributeChangeResponse {
  std::string unique_identifier;
  std::optional<Attribute> attribute;  // 1.x answers with the attribute
};

struct DeleteAttributeRequest {
  std::string unique_identifier;
  AttributeName name;
  int32_t index = 0;
  std::optional<Attribute> current;  // 2.0: the instance to delete
};

struct LocateRequest {
  std::optional<int32_t> maximum_items;
  std::optional<int32_t> offset_items;
  AttributeList attributes;  // every attribute must match (AND)
};
struct LocateResponse {
  std::optional<int32_t> located_items;
  std::vector<std::string> unique_identifiers;
};

// Activate, Destroy and the answers that carry only an identifier.
struct ObjectId {
  std::string unique_identifier;
};

struct RevokeRequest {
  std::string unique_identifier;
  RevocationReasonCode reason = RevocationReasonCode::kUnspecified;
  std::optional<std::string> message;
  std::optional<int64_t> compromise_occurrence_date;
};

struct EncryptRequest {
  std::string unique_identifier;
  std::optional<CryptographicParameters> parameters;
  SecretBytes data;
  std::optional<std::string> iv_counter_nonce;
  std::optional<std::string> aad;  // Authenticated Encryption Additional Data
};
struct EncryptResponse {
  std::string unique_identifier;
  std::string data;
  std::optional<std::string> iv_counter_nonce;  // when the server chose it
  std::optional<std::string> tag;  // Authenticated Encryption Tag
};

struct DecryptRequest {
  std::string unique_identifier;
  std::optional<CryptographicParameters> parameters;
  std::string data;
  std::optional<std::string> iv_counter_nonce;
  std::optional<std::string> aad;
  std::optional<std::string> tag;
};
struct DecryptResponse {
  std::string unique_identifier;
  SecretBytes data;
};

struct MacRequest {
  std::string unique_identifier;
  std::optional<CryptographicParameters> parameters;
  SecretBytes data;
};
struct MacResponse {
  std::string unique_identifier;
  std::string mac_data;
};

struct SignRequest {
  std::string unique_identifier;
  std::optional<CryptographicParameters> parameters;
  SecretBytes data;
};
struct SignResponse {
  std::string unique_identifier;
  std::string signature;
};

struct SignatureVerifyRequest {
  std::string unique_identifier;
  std::optional<CryptographicParameters> parameters;
  SecretBytes data;
  std::string signature;
};
struct SignatureVerifyResponse {
  std::string unique_identifier;
  ValidityIndicator validity = ValidityIndicator::kUnknown;
};

// ---------------------------------------------------------------------------
// The backend: what the protocol layer asks of the service.

// Who is asking: the TLS client certificate (the adapter's credential, as
// Key Protect's KMIP adapters identify clients) and the request's version.
struct KmipClient {
  std::string certificate_der;
  std::string certificate_sha256;  // 32 raw bytes
};

struct KmipContext {
  const KmipClient* client = nullptr;
  ProtocolVersion version;
};

// Managed objects: lifecycle, attributes and search. Errors are Statuses
// mapped by result_reason.h (NotFound -> Item Not Found, FailedPrecondition
// -> Wrong Key Lifecycle State, ...). Implementations must be thread-safe:
// the server calls them from every I/O thread.
class KmipObjects {
 public:
  virtual ~KmipObjects() = default;
  virtual absl::StatusOr<CreateResponse> Create(const KmipContext& ctx,
                                                const CreateRequest& req) = 0;
  virtual absl::StatusOr<CreateKeyPairResponse> CreateKeyPair(
      const KmipContext& ctx, const CreateKeyPairRequest& req) = 0;
  virtual absl::StatusOr<ObjectId> Register(const KmipContext& ctx,
                                            const RegisterRequest& req) = 0;
  virtual absl::StatusOr<GetResponse> Get(const KmipContext& ctx,
                                          const GetRequest& req) = 0;
  virtual absl::StatusOr<GetAttributesResponse> GetAttributes(
      const KmipContext& ctx, const GetAttributesRequest& req) = 0;
  virtual absl::StatusOr<GetAttributeListResponse> GetAttributeList(
      const KmipContext& ctx, const ObjectId& req) = 0;
  virtual absl::StatusOr<AttributeChangeResponse> AddAttribute(
      const KmipContext& ctx, const AttributeChangeRequest& req) = 0;
  virtual absl::StatusOr<AttributeChangeResponse> ModifyAttribute(
      const KmipContext& ctx, const AttributeChangeRequest& req) = 0;
  virtual absl::StatusOr<AttributeChangeResponse> DeleteAttribute(
      const KmipContext& ctx, const DeleteAttributeRequest& req) = 0;
  virtual absl::StatusOr<LocateResponse> Locate(const KmipContext& ctx,
                                                const LocateRequest& req) = 0;
  virtual absl::StatusOr<ObjectId> Activate(const KmipContext& ctx,
                                            const ObjectId& req) = 0;
  virtual absl::StatusOr<ObjectId> Revoke(const KmipContext& ctx,
                                          const RevokeRequest& req) = 0;
  virtual absl::StatusOr<ObjectId> Destroy(const KmipContext& ctx,
                                           const ObjectId& req) = 0;
};

// The data plane: cryptographic operations with a managed key.
class KmipCrypto {
 public:
  virtual ~KmipCrypto() = default;
  virtual absl::StatusOr<EncryptResponse> Encrypt(
      const KmipContext& ctx, const EncryptRequest& req) = 0;
  virtual absl::StatusOr<DecryptResponse> Decrypt(
      const KmipContext& ctx, const DecryptRequest& req) = 0;
  virtual absl::StatusOr<MacResponse> Mac(const KmipContext& ctx,
                                          const MacRequest& req) = 0;
  virtual absl::StatusOr<SignResponse> Sign(const KmipContext& ctx,
                                            const SignRequest& req) = 0;
  virtual absl::StatusOr<SignatureVerifyResponse> SignatureVerify(
      const KmipContext& ctx, const SignatureVerifyRequest& req) = 0;
};

// ---------------------------------------------------------------------------
// Messages

struct RequestBatchItem {
  uint32_t operation = 0;  // raw: an unknown operation is answered per item
  std::optional<std::string> unique_batch_item_id;
  Item payload;  // Request Payload
};

struct RequestMessage {
  ProtocolVersion version;
  std::optional<int32_t> maximum_response_size;
  BatchErrorContinuation batch_error_continuation =
      BatchErrorContinuation::kStop;
  std::vector<RequestBatchItem> items;
};

// Parses a Request Message (KMIP 1.4 §7.1/§6, 2.0 §8.1/§7): the header's
// Protocol Version, Maximum Response Size, Batch Error Continuation Option,
// Batch Count (must equal the items), and each item's Operation, Unique
// Batch Item ID and Request Payload. Authentication, Time Stamp, Batch
// Order Option and Asynchronous Indicator (false) are accepted and ignored:
// the client is identified by its certificate. Anything else is an error.
absl::StatusOr<RequestMessage> ParseRequestMessage(const Item& message);

struct ResponseBatchItem {
  std::optional<uint32_t> operation;
  std::optional<std::string> unique_batch_item_id;
  ResultStatus status = ResultStatus::kSuccess;
  std::optional<ResultReason> reason;
  std::optional<std::string> message;
  std::optional<Item> payload;  // Response Payload
};

struct ResponseMessage {
  ProtocolVersion version;
  int64_t time_stamp = 0;  // seconds since the epoch
  std::vector<ResponseBatchItem> items;
};

Item BuildResponseMessage(const ResponseMessage& response);

// ---------------------------------------------------------------------------
// Payload codecs (exposed for tests and the fuzzer; the dispatcher in
// protocol.h uses them).

absl::StatusOr<AttributeList> DecodeTemplateAttribute(const Item& item);
absl::StatusOr<AttributeList> DecodeAttributes20(const Item& item);
absl::StatusOr<Attribute> DecodeAttribute1x(const Item& item);
Item EncodeAttribute1x(const Attribute& attribute);
Item EncodeAttributes20(Tag tag, const AttributeList& attributes);
absl::StatusOr<CryptographicParameters> DecodeCryptographicParameters(
    const Item& item);
Item EncodeCryptographicParameters(const CryptographicParameters& params);
absl::StatusOr<ManagedObject> DecodeManagedObject(const Item& item);
absl::StatusOr<Item> EncodeManagedObject(const ManagedObject& object);

}  // namespace keywarden::api::kmip

#endif  // KEYWARDEN_API_KMIP_MESSAGES_H_
