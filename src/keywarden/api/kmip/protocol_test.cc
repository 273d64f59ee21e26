#include "keywarden/api/kmip/protocol.h"

#include <deque>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "keywarden/api/kmip/memory_backend_for_testing.h"
#include "keywarden/api/kmip/result_reason.h"
#include "keywarden/api/kmip/scripted_backend_test_util.h"
#include "keywarden/common/errors.h"

namespace keywarden::api::kmip {
namespace {

Item Version(ProtocolVersion v) {
  return Item::Structure(Tag::kProtocolVersion,
                         {Item::Integer(Tag::kProtocolVersionMajor, v.major),
                          Item::Integer(Tag::kProtocolVersionMinor, v.minor)});
}

struct Op {
  Operation operation;
  Item payload;
};

Item Request(ProtocolVersion v, std::vector<Op> ops,
             std::optional<BatchErrorContinuation> cont = std::nullopt,
             std::optional<int32_t> max_size = std::nullopt) {
  Item header = Item::Structure(Tag::kRequestHeader, {Version(v)});
  if (max_size) header.Add(Item::Integer(Tag::kMaximumResponseSize, *max_size));
  if (cont) header.Add(Item::Enum(Tag::kBatchErrorContinuationOption, *cont));
  header.Add(Item::Integer(Tag::kBatchCount, static_cast<int32_t>(ops.size())));
  Item msg = Item::Structure(Tag::kRequestMessage, {std::move(header)});
  int id = 1;
  for (Op& op : ops) {
    Item b = Item::Structure(Tag::kBatchItem, {Item::Enum(Tag::kOperation, op.operation)});
    if (ops.size() > 1) b.Add(Item::ByteString(Tag::kUniqueBatchItemId, std::string(1, char('0' + id++))));
    op.payload.set_tag(static_cast<uint32_t>(Tag::kRequestPayload));
    b.Add(std::move(op.payload));
    msg.Add(std::move(b));
  }
  return msg;
}

Item Payload(std::vector<Item> c) { return Item::Structure(Tag::kRequestPayload, std::move(c)); }
Item Uid(std::string id) { return Item::TextString(Tag::kUniqueIdentifier, std::move(id)); }

Item Attr1x(std::string name, Item value) {
  value.set_tag(static_cast<uint32_t>(Tag::kAttributeValue));
  return Item::Structure(Tag::kAttribute,
                         {Item::TextString(Tag::kAttributeName, std::move(name)), std::move(value)});
}

// The AES-256 Create payload of the version's attribute form.
Item CreateAes(ProtocolVersion v, int bits, std::string name) {
  Item name_value = Item::Structure(
      Tag::kName, {Item::TextString(Tag::kNameValue, name),
                   Item::Enum(Tag::kNameType, NameType::kUninterpretedTextString)});
  if (v.major >= 2) {
    return Payload({Item::Enum(Tag::kObjectType, ObjectType::kSymmetricKey),
                    Item::Structure(Tag::kAttributes,
                                    {Item::Enum(Tag::kCryptographicAlgorithm,
                                                CryptographicAlgorithm::kAes),
                                     Item::Integer(Tag::kCryptographicLength, bits),
                                     Item::Integer(Tag::kCryptographicUsageMask,
                                                   kUsageEncrypt | kUsageDecrypt),
                                     name_value})});
  }
  return Payload(
      {Item::Enum(Tag::kObjectType, ObjectType::kSymmetricKey),
       Item::Structure(Tag::kTemplateAttribute,
                       {Attr1x("Cryptographic Algorithm",
                               Item::Enum(Tag::kAttributeValue, CryptographicAlgorithm::kAes)),
                        Attr1x("Cryptographic Length", Item::Integer(Tag::kAttributeValue, bits)),
                        Attr1x("Cryptographic Usage Mask",
                               Item::Integer(Tag::kAttributeValue, kUsageEncrypt | kUsageDecrypt)),
                        Attr1x("Name", name_value)})});
}

struct Result {
  ResultStatus status;
  std::optional<ResultReason> reason;
  std::string message;
  const Item* payload;
};

class ProtocolTest : public ::testing::Test {
 protected:
  ProtocolTest() : memory_(clock_), protocol_(memory_, memory_, clock_) {
    alice_.certificate_sha256 = std::string(32, 'a');
    bob_.certificate_sha256 = std::string(32, 'b');
  }

  // Runs `request` through the encoder, Process and the decoder, as the
  // server does, and returns the decoded response (kept alive for the
  // test, so Results' payload pointers stay valid).
  const Item& Exchange(const Item& request, const KmipClient& client, const KmipProtocol& p) {
    auto bytes = EncodeTtlv(request);
    EXPECT_TRUE(bytes.ok());
    std::string out = p.Process(
        {reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()}, client);
    auto decoded = DecodeTtlv({reinterpret_cast<const uint8_t*>(out.data()), out.size()});
    EXPECT_TRUE(decoded.ok()) << decoded.status();
    responses_.push_back(decoded.ok() ? *decoded : Item());
    return responses_.back();
  }
  const Item& Exchange(const Item& request, const KmipClient& client) {
    return Exchange(request, client, protocol_);
  }

  static std::vector<Result> Results(const Item& response) {
    std::vector<Result> out;
    for (const Item* b : response.FindAll(Tag::kBatchItem)) {
      Result r{static_cast<ResultStatus>(b->Find(Tag::kResultStatus)->int_value()),
               std::nullopt, "", b->Find(Tag::kResponsePayload)};
      if (const Item* reason = b->Find(Tag::kResultReason)) {
        r.reason = static_cast<ResultReason>(reason->int_value());
      }
      if (const Item* m = b->Find(Tag::kResultMessage)) r.message = m->bytes();
      out.push_back(r);
    }
    return out;
  }

  // Creates an AES key for `client`; returns its id.
  std::string Create(ProtocolVersion v, const KmipClient& client, int bits = 256,
                     std::string name = "k") {
    const Item& response = Exchange(Request(v, {{Operation::kCreate, CreateAes(v, bits, name)}}), client);
    auto results = Results(response);
    EXPECT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].status, ResultStatus::kSuccess) << results[0].message;
    return results[0].payload->Find(Tag::kUniqueIdentifier)->bytes();
  }

  std::deque<Item> responses_;
  FakeClock clock_;
  MemoryBackendForTesting memory_;
  KmipProtocol protocol_;
  KmipClient alice_, bob_;
};

constexpr ProtocolVersion k12{1, 2}, k14{1, 4}, k20{2, 0};

TEST_F(ProtocolTest, GarbageGetsOneInvalidMessageItemAtVersion10) {
  std::vector<uint8_t> garbage = {0x42, 0x00, 0x78, 0x01, 0, 0, 0, 9};
  std::string out = protocol_.Process(garbage, alice_);
  auto response = DecodeTtlv({reinterpret_cast<const uint8_t*>(out.data()), out.size()});
  ASSERT_TRUE(response.ok());
  const Item* v = response->Find(Tag::kResponseHeader)->Find(Tag::kProtocolVersion);
  EXPECT_EQ(v->Find(Tag::kProtocolVersionMinor)->int_value(), 0);
  auto results = Results(*response);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].reason, ResultReason::kInvalidMessage);
}

TEST_F(ProtocolTest, BatchCountMismatchIsInvalidMessageAtTheRequestsVersion) {
  Item req = Request(k14, {{Operation::kQuery, Payload({})}});
  req.mutable_children()[0].mutable_children().back().set_int_value(2);
  const Item& response = Exchange(req, alice_);
  EXPECT_EQ(response.Find(Tag::kResponseHeader)->Find(Tag::kProtocolVersion)
                ->Find(Tag::kProtocolVersionMinor)->int_value(), 4);
  EXPECT_EQ(Results(response)[0].reason, ResultReason::kInvalidMessage);
}

TEST_F(ProtocolTest, UnsupportedVersionIsInvalidMessage) {
  const Item& response = Exchange(Request({3, 0}, {{Operation::kQuery, Payload({})}}), alice_);
  EXPECT_EQ(Results(response)[0].reason, ResultReason::kInvalidMessage);
}

TEST_F(ProtocolTest, UnknownOperationAndTooNewOperationAreNotSupported) {
  const Item& response = Exchange(
      Request(k14, {{static_cast<Operation>(0x99), Payload({})},
                    {Operation::kQuery, Payload({})}},
              BatchErrorContinuation::kContinue),
      alice_);
  auto results = Results(response);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].reason, ResultReason::kOperationNotSupported);
  EXPECT_EQ(results[1].status, ResultStatus::kSuccess);
  // Encrypt does not exist in KMIP 1.1.
  const Item& old = Exchange(Request({1, 1}, {{Operation::kEncrypt, Payload({Uid("1")})}}), alice_);
  EXPECT_EQ(Results(old)[0].reason, ResultReason::kOperationNotSupported);
}

TEST_F(ProtocolTest, StopEndsTheBatchAtTheFirstFailure) {
  for (auto cont : {BatchErrorContinuation::kStop, BatchErrorContinuation::kUndo}) {
    const Item& response = Exchange(Request(k14,
                                     {{Operation::kQuery, Payload({})},
                                      {Operation::kGet, Payload({Uid("nope")})},
                                      {Operation::kQuery, Payload({})}},
                                     cont),
                             alice_);
    auto results = Results(response);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].status, ResultStatus::kSuccess);
    EXPECT_EQ(results[1].reason, ResultReason::kItemNotFound);
    EXPECT_EQ(response.FindAll(Tag::kBatchItem)[1]->Find(Tag::kUniqueBatchItemId)->bytes(), "2");
  }
}

TEST_F(ProtocolTest, ContinueRunsEveryItem) {
  const Item& response = Exchange(Request(k14,
                                   {{Operation::kGet, Payload({Uid("nope")})},
                                    {Operation::kQuery, Payload({})}},
                                   BatchErrorContinuation::kContinue),
                           alice_);
  auto results = Results(response);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].reason, ResultReason::kItemNotFound);
  EXPECT_EQ(results[1].status, ResultStatus::kSuccess);
}

TEST_F(ProtocolTest, IdPlaceholderCarriesCreateIntoActivateAndGet) {
  for (ProtocolVersion v : {k12, k14, k20}) {
    const Item& response = Exchange(Request(v,
                                     {{Operation::kCreate, CreateAes(v, 128, "p")},
                                      {Operation::kActivate, Payload({})},
                                      {Operation::kGet, Payload({})}}),
                             alice_);
    auto results = Results(response);
    ASSERT_EQ(results.size(), 3u);
    for (const Result& r : results) EXPECT_EQ(r.status, ResultStatus::kSuccess) << r.message;
    std::string id = results[0].payload->Find(Tag::kUniqueIdentifier)->bytes();
    EXPECT_EQ(results[1].payload->Find(Tag::kUniqueIdentifier)->bytes(), id);
    const Item* key = results[2].payload->Find(Tag::kSymmetricKey);
    ASSERT_NE(key, nullptr);
    EXPECT_EQ(key->Find(Tag::kKeyBlock)->Find(Tag::kKeyValue)->Find(Tag::kKeyMaterial)
                  ->bytes().size(), 16u);
  }
  // Without a previous item there is nothing to stand in for the id.
  const Item& response = Exchange(Request(k14, {{Operation::kActivate, Payload({})}}), alice_);
  EXPECT_EQ(Results(response)[0].reason, ResultReason::kMissingData);
}

TEST_F(ProtocolTest, EncryptDecryptRoundTripWithServerIv) {
  for (ProtocolVersion v : {k14, k20}) {
    std::string id = Create(v, alice_);
    Exchange(Request(v, {{Operation::kActivate, Payload({Uid(id)})}}), alice_);
    Item params = Item::Structure(Tag::kCryptographicParameters,
                                  {Item::Enum(Tag::kBlockCipherMode, BlockCipherMode::kGcm),
                                   Item::Integer(Tag::kTagLength, 16)});
    const Item& response = Exchange(
        Request(v, {{Operation::kEncrypt,
                     Payload({Uid(id), params, Item::ByteString(Tag::kData, std::string(32, 'p')),
                              Item::ByteString(Tag::kAuthenticatedEncryptionAdditionalData,
                                               std::string("ctx"))})}}),
        alice_);
    auto results = Results(response);
    ASSERT_EQ(results[0].status, ResultStatus::kSuccess) << results[0].message;
    const Item* p = results[0].payload;
    std::string ct = p->Find(Tag::kData)->bytes();
    std::string iv = p->Find(Tag::kIvCounterNonce)->bytes();
    std::string tag = p->Find(Tag::kAuthenticatedEncryptionTag)->bytes();
    EXPECT_EQ(iv.size(), 12u);
    EXPECT_EQ(tag.size(), 16u);
    EXPECT_NE(ct, std::string(32, 'p'));
    auto decrypt = [&](std::string aad) {
      return Results(Exchange(
          Request(v, {{Operation::kDecrypt,
                       Payload({Uid(id), params, Item::ByteString(Tag::kData, ct),
                                Item::ByteString(Tag::kIvCounterNonce, iv),
                                Item::ByteString(Tag::kAuthenticatedEncryptionAdditionalData, aad),
                                Item::ByteString(Tag::kAuthenticatedEncryptionTag, tag)})}}),
          alice_));
    };
    auto ok = decrypt("ctx");
    ASSERT_EQ(ok[0].status, ResultStatus::kSuccess) << ok[0].message;
    EXPECT_EQ(ok[0].payload->Find(Tag::kData)->bytes(), std::string(32, 'p'));
    EXPECT_EQ(decrypt("other")[0].reason, ResultReason::kCryptographicFailure);
  }
}

TEST_F(ProtocolTest, WrongStateIsWrongKeyLifecycleStateIn20AndIllegalOperationIn1x) {
  for (ProtocolVersion v : {k14, k20}) {
    std::string id = Create(v, alice_);
    const Item& response = Exchange(
        Request(v, {{Operation::kMac, Payload({Uid(id), Item::ByteString(Tag::kData, std::string("x"))})}}),
        alice_);
    EXPECT_EQ(Results(response)[0].reason, v.major >= 2 ? ResultReason::kWrongKeyLifecycleState
                                                        : ResultReason::kIllegalOperation);
  }
}

TEST_F(ProtocolTest, LifecycleActivateRevokeDestroy) {
  std::string id = Create(k14, alice_);
  Item revoke = Payload({Uid(id), Item::Structure(Tag::kRevocationReason,
                                                  {Item::Enum(Tag::kRevocationReasonCode,
                                                              RevocationReasonCode::kCessationOfOperation)})});
  auto results = Results(Exchange(Request(k14,
                                          {{Operation::kActivate, Payload({Uid(id)})},
                                           {Operation::kDestroy, Payload({Uid(id)})}},
                                          BatchErrorContinuation::kContinue),
                                  alice_));
  EXPECT_EQ(results[0].status, ResultStatus::kSuccess);
  EXPECT_EQ(results[1].reason, ResultReason::kIllegalOperation);  // Active
  results = Results(Exchange(Request(k14, {{Operation::kRevoke, revoke},
                                           {Operation::kDestroy, Payload({Uid(id)})},
                                           {Operation::kGet, Payload({Uid(id)})}},
                                     BatchErrorContinuation::kContinue),
                             alice_));
  EXPECT_EQ(results[0].status, ResultStatus::kSuccess);
  EXPECT_EQ(results[1].status, ResultStatus::kSuccess);
  EXPECT_EQ(results[2].reason, ResultReason::kKeyValueNotPresent);
  Item get_state = Payload({Uid(id), Item::TextString(Tag::kAttributeName, "State")});
  results = Results(Exchange(Request(k14, {{Operation::kGetAttributes, get_state}}), alice_));
  const Item* attr = results[0].payload->Find(Tag::kAttribute);
  ASSERT_NE(attr, nullptr);
  EXPECT_EQ(attr->Find(Tag::kAttributeValue)->int_value(), static_cast<int>(State::kDestroyed));
}

TEST_F(ProtocolTest, AnotherClientsObjectsAreNotFound) {
  std::string id = Create(k20, alice_);
  auto results = Results(Exchange(Request(k20, {{Operation::kGet, Payload({Uid(id)})}}), bob_));
  EXPECT_EQ(results[0].reason, ResultReason::kItemNotFound);
  Item locate = Payload({});
  results = Results(Exchange(Request(k20, {{Operation::kLocate, locate}}), bob_));
  EXPECT_EQ(results[0].payload->Find(Tag::kUniqueIdentifier), nullptr);
}

TEST_F(ProtocolTest, LocateFiltersAndHonoursMaximumItems) {
  for (ProtocolVersion v : {k14, k20}) {
    KmipClient client;
    client.certificate_sha256 = v.major == 2 ? "c20" : "c14";
    std::string a = Create(v, client, 128, "alpha");
    std::string b = Create(v, client, 256, "beta");
    std::string c = Create(v, client, 256, "gamma");
    Item length = Item::Integer(Tag::kCryptographicLength, 256);
    Item filter = v.major >= 2
                      ? Payload({Item::Structure(Tag::kAttributes, {length})})
                      : Payload({Attr1x("Cryptographic Length", length)});
    auto results = Results(Exchange(Request(v, {{Operation::kLocate, filter}}), client));
    std::vector<std::string> ids;
    for (const Item* id : results[0].payload->FindAll(Tag::kUniqueIdentifier)) ids.push_back(id->bytes());
    EXPECT_EQ(ids, (std::vector<std::string>{b, c}));
    EXPECT_EQ(results[0].payload->Find(Tag::kLocatedItems)->int_value(), 2);
    filter.mutable_children().insert(filter.mutable_children().begin(),
                                     Item::Integer(Tag::kMaximumItems, 1));
    results = Results(Exchange(Request(v, {{Operation::kLocate, filter}}), client));
    EXPECT_EQ(results[0].payload->FindAll(Tag::kUniqueIdentifier).size(), 1u);
  }
}

TEST_F(ProtocolTest, AttributeOperationsIn1xAnd20) {
  // 1.x: Add a custom attribute and a Name, read them back, modify, delete.
  std::string id = Create(k14, alice_);
  auto results = Results(Exchange(
      Request(k14, {{Operation::kAddAttribute,
                     Payload({Uid(id), Attr1x("x-purpose", Item::TextString(Tag::kAttributeValue, "db"))})},
                    {Operation::kModifyAttribute,
                     Payload({Uid(id), Attr1x("x-purpose", Item::TextString(Tag::kAttributeValue, "fs"))})},
                    {Operation::kGetAttributeList, Payload({Uid(id)})},
                    {Operation::kDeleteAttribute,
                     Payload({Uid(id), Item::TextString(Tag::kAttributeName, "x-purpose")})},
                    {Operation::kDeleteAttribute,
                     Payload({Uid(id), Item::TextString(Tag::kAttributeName, "x-purpose")})}},
              BatchErrorContinuation::kContinue),
      alice_));
  ASSERT_EQ(results.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(results[i].status, ResultStatus::kSuccess) << i << results[i].message;
  EXPECT_EQ(results[1].payload->Find(Tag::kAttribute)->Find(Tag::kAttributeValue)->bytes(), "fs");
  std::vector<std::string> names;
  for (const Item* n : results[2].payload->FindAll(Tag::kAttributeName)) names.push_back(n->bytes());
  EXPECT_NE(std::find(names.begin(), names.end(), "x-purpose"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "Cryptographic Algorithm"), names.end());
  EXPECT_EQ(results[4].reason, ResultReason::kItemNotFound);

  // 2.0: New Attribute / Attribute Reference, Attributes in Get Attributes.
  id = Create(k20, alice_);
  Item contact = Item::TextString(Tag::kContactInformation, "ops@example");
  results = Results(Exchange(
      Request(k20, {{Operation::kAddAttribute,
                     Payload({Uid(id), Item::Structure(Tag::kNewAttribute, {contact})})},
                    {Operation::kGetAttributes,
                     Payload({Uid(id), Item::Enumeration(Tag::kAttributeReference,
                                                         static_cast<uint32_t>(Tag::kContactInformation))})},
                    {Operation::kGetAttributeList, Payload({Uid(id)})},
                    {Operation::kDeleteAttribute,
                     Payload({Uid(id), Item::Enumeration(Tag::kAttributeReference,
                                                         static_cast<uint32_t>(Tag::kContactInformation))})}}),
      alice_));
  ASSERT_EQ(results.size(), 4u);
  for (const Result& r : results) EXPECT_EQ(r.status, ResultStatus::kSuccess) << r.message;
  const Item* attrs = results[1].payload->Find(Tag::kAttributes);
  ASSERT_NE(attrs, nullptr);
  ASSERT_EQ(attrs->children().size(), 1u);
  EXPECT_EQ(attrs->children()[0], contact);
  bool listed = false;
  for (const Item* r : results[2].payload->FindAll(Tag::kAttributeReference)) {
    listed |= r->int_value() == static_cast<int64_t>(Tag::kContactInformation);
  }
  EXPECT_TRUE(listed);
}

TEST_F(ProtocolTest, AttributeReferenceStructureFormNamesStandardAttributesOnly) {
  std::string id = Create(k20, alice_);
  auto ref = [](std::string vendor, std::string name) {
    return Item::Structure(Tag::kAttributeReference,
                           {Item::TextString(Tag::kVendorIdentification, std::move(vendor)),
                            Item::TextString(Tag::kAttributeName, std::move(name))});
  };
  auto results = Results(Exchange(
      Request(k20, {{Operation::kGetAttributes, Payload({Uid(id), ref("", "Cryptographic Length")})},
                    {Operation::kGetAttributes, Payload({Uid(id), ref("acme", "Cryptographic Length")})},
                    {Operation::kGetAttributes, Payload({Uid(id), ref("", "Frobnication")})}},
              BatchErrorContinuation::kContinue),
      alice_));
  ASSERT_EQ(results[0].status, ResultStatus::kSuccess) << results[0].message;
  const Item* attrs = results[0].payload->Find(Tag::kAttributes);
  ASSERT_EQ(attrs->children().size(), 1u);
  EXPECT_EQ(attrs->children()[0], Item::Integer(Tag::kCryptographicLength, 256));
  EXPECT_EQ(results[1].reason, ResultReason::kInvalidField);
  EXPECT_EQ(results[2].reason, ResultReason::kInvalidField);
}

TEST_F(ProtocolTest, GetTransparentSymmetricKey) {
  std::string id = Create(k14, alice_, 192);
  auto results = Results(Exchange(
      Request(k14, {{Operation::kGet,
                     Payload({Uid(id), Item::Enum(Tag::kKeyFormatType,
                                                  KeyFormatType::kTransparentSymmetricKey)})}}),
      alice_));
  const Item* block = results[0].payload->Find(Tag::kSymmetricKey)->Find(Tag::kKeyBlock);
  EXPECT_EQ(block->Find(Tag::kKeyFormatType)->int_value(),
            static_cast<int>(KeyFormatType::kTransparentSymmetricKey));
  EXPECT_EQ(block->Find(Tag::kKeyValue)->Find(Tag::kKeyMaterial)->Find(Tag::kKey)->bytes().size(), 24u);
}

TEST_F(ProtocolTest, UnknownAndWrappingFieldsAreRefusedNotIgnored) {
  std::string id = Create(k14, alice_);
  auto results = Results(Exchange(
      Request(k14, {{Operation::kGet,
                     Payload({Uid(id), Item::Structure(Tag::kKeyWrappingSpecification)})},
                    {Operation::kGet, Payload({Uid(id), Item::Integer(Tag::kBatchCount, 1)})},
                    {Operation::kGet, Payload({Uid(id), Uid(id)})}},
              BatchErrorContinuation::kContinue),
      alice_));
  EXPECT_EQ(results[0].reason, ResultReason::kFeatureNotSupported);
  EXPECT_EQ(results[1].reason, ResultReason::kInvalidField);
  EXPECT_EQ(results[2].reason, ResultReason::kInvalidField);
}

TEST_F(ProtocolTest, MaximumResponseSizeTurnsALargeAnswerIntoResponseTooLarge) {
  std::string id = Create(k14, alice_);
  auto results = Results(Exchange(
      Request(k14, {{Operation::kGet, Payload({Uid(id)})}}, std::nullopt, 128), alice_));
  EXPECT_EQ(results[0].reason, ResultReason::kResponseTooLarge);
  results = Results(Exchange(
      Request(k14, {{Operation::kGet, Payload({Uid(id)})}}, std::nullopt, 4096), alice_));
  EXPECT_EQ(results[0].status, ResultStatus::kSuccess);
}

TEST_F(ProtocolTest, QueryListsTheOperationsAndObjects) {
  Item q = Payload({Item::Enum(Tag::kQueryFunction, QueryFunction::kOperations),
                    Item::Enum(Tag::kQueryFunction, QueryFunction::kObjects),
                    Item::Enum(Tag::kQueryFunction, QueryFunction::kServerInformation)});
  auto results = Results(Exchange(Request(k14, {{Operation::kQuery, q}}), alice_));
  EXPECT_EQ(results[0].payload->FindAll(Tag::kOperation).size(), SupportedOperations().size());
  EXPECT_EQ(results[0].payload->FindAll(Tag::kObjectType).size(), 4u);
  EXPECT_EQ(results[0].payload->Find(Tag::kVendorIdentification)->bytes(), "Keywarden");
}

TEST_F(ProtocolTest, InternalErrorsDoNotLeakTheirCause) {
  ScriptedBackend scripted;
  scripted.error = absl::InternalError("/var/lib/keywarden/db: disk I/O error");
  KmipProtocol p(scripted, scripted, clock_);
  auto results = Results(Exchange(Request(k14, {{Operation::kGet, Payload({Uid("1")})}}), alice_, p));
  EXPECT_EQ(results[0].reason, ResultReason::kGeneralFailure);
  EXPECT_EQ(results[0].message, "internal server error");
}

TEST(ResultReasonTest, MapsEachStatusCode) {
  ProtocolVersion v14{1, 4}, v20{2, 0};
  EXPECT_EQ(MapStatus(absl::NotFoundError("x"), v14).reason, ResultReason::kItemNotFound);
  EXPECT_EQ(MapStatus(absl::PermissionDeniedError("x"), v14).reason, ResultReason::kPermissionDenied);
  EXPECT_EQ(MapStatus(absl::UnauthenticatedError("x"), v14).reason,
            ResultReason::kAuthenticationNotSuccessful);
  EXPECT_EQ(MapStatus(absl::InvalidArgumentError("x"), v14).reason, ResultReason::kInvalidField);
  EXPECT_EQ(MapStatus(absl::FailedPreconditionError("x"), v14).reason, ResultReason::kIllegalOperation);
  EXPECT_EQ(MapStatus(absl::FailedPreconditionError("x"), v20).reason,
            ResultReason::kWrongKeyLifecycleState);
  EXPECT_EQ(MapStatus(absl::UnimplementedError("x"), v14).reason, ResultReason::kOperationNotSupported);
  EXPECT_EQ(MapStatus(absl::DataLossError("x"), v14).reason, ResultReason::kCryptographicFailure);
  EXPECT_EQ(MapStatus(absl::AlreadyExistsError("x"), v14).reason, ResultReason::kObjectAlreadyExists);
  EXPECT_EQ(MapStatus(absl::UnavailableError("x"), v14).reason, ResultReason::kGeneralFailure);
  auto e = MapStatus(KmipError(ResultReason::kKeyFormatTypeNotSupported, "no PKCS#12"), v14);
  EXPECT_EQ(e.reason, ResultReason::kKeyFormatTypeNotSupported);
  EXPECT_EQ(e.message, "no PKCS#12");
  EXPECT_EQ(MapStatus(KmipError(ResultReason::kWrongKeyLifecycleState, "x"), v14).reason,
            ResultReason::kIllegalOperation);
}

// A domain field error reads neutrally in KMIP, whatever protocol named the
// field: no Key Protect "The field `x` must be:" wording.
TEST(ResultReasonTest, FieldErrorReadsNeutrally) {
  ProtocolVersion v20{2, 0};
  MappedError body = MapStatus(
      FieldError(Reason::kInvalidField, {"name"}, "2 to 90 characters long"),
      v20);
  EXPECT_EQ(body.reason, ResultReason::kInvalidField);
  EXPECT_EQ(body.message, "field name: 2 to 90 characters long");
  MappedError param = MapStatus(
      FieldError(Reason::kBadBody, {"limit", FieldKind::kQuery},
                 "an integer from 1 to 5000"),
      v20);
  EXPECT_EQ(param.reason, ResultReason::kInvalidField);
  EXPECT_EQ(param.message, "field limit: an integer from 1 to 5000");
}

// A refusal of the core answers its neutral detail, not Key Protect's
// catalogue message.
TEST(ResultReasonTest, RefusalReadsAsItsDetail) {
  ProtocolVersion v20{2, 0};
  MappedError e = MapStatus(
      DomainError(Reason::kKeyRotationNotPermitted,
                  "a root key rotates at most once an hour"),
      v20);
  EXPECT_EQ(e.reason, ResultReason::kWrongKeyLifecycleState);
  EXPECT_EQ(e.message, "a root key rotates at most once an hour");
}

}  // namespace
}  // namespace keywarden::api::kmip
