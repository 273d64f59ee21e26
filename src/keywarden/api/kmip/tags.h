#ifndef KEYWARDEN_API_KMIP_TAGS_H_
#define KEYWARDEN_API_KMIP_TAGS_H_

// KMIP tag and enumeration values used by the protocol layer: the subset of
// KMIP 1.4 §9.1.3.1 / KMIP 2.0 §11 (tag table) and §9.1.3.2 / §11.x
// (enumerations) that the supported operations need. Values are the wire
// numbers; nothing here is an ordinal.

#include <cstdint>
#include <string_view>

namespace keywarden::api::kmip {

// Tags (KMIP 1.4 §9.1.3.1, KMIP 2.0 §11.1). One X-macro table so that the
// enum and the names for diagnostics cannot drift apart.
#define KW_KMIP_TAGS(X)                                          \
  X(kActivationDate, 0x420001)                                   \
  X(kApplicationSpecificInformation, 0x420004)                   \
  X(kAttribute, 0x420008)                                        \
  X(kAttributeIndex, 0x420009)                                   \
  X(kAttributeName, 0x42000A)                                    \
  X(kAttributeValue, 0x42000B)                                   \
  X(kAuthentication, 0x42000C)                                   \
  X(kBatchCount, 0x42000D)                                       \
  X(kBatchErrorContinuationOption, 0x42000E)                     \
  X(kBatchItem, 0x42000F)                                        \
  X(kBatchOrderOption, 0x420010)                                 \
  X(kBlockCipherMode, 0x420011)                                  \
  X(kCommonTemplateAttribute, 0x42001F)                          \
  X(kCompromiseDate, 0x420020)                                   \
  X(kCompromiseOccurrenceDate, 0x420021)                         \
  X(kContactInformation, 0x420022)                               \
  X(kCrtCoefficient, 0x420027)                                   \
  X(kCryptographicAlgorithm, 0x420028)                           \
  X(kCryptographicLength, 0x42002A)                              \
  X(kCryptographicParameters, 0x42002B)                          \
  X(kCryptographicUsageMask, 0x42002C)                           \
  X(kCustomAttribute, 0x42002D)                                  \
  X(kDeactivationDate, 0x42002F)                                 \
  X(kDestroyDate, 0x420033)                                      \
  X(kHashingAlgorithm, 0x420038)                                 \
  X(kInitialDate, 0x420039)                                      \
  X(kIvCounterNonce, 0x42003D)                                   \
  X(kKey, 0x42003F)                                              \
  X(kKeyBlock, 0x420040)                                         \
  X(kKeyCompressionType, 0x420041)                               \
  X(kKeyFormatType, 0x420042)                                    \
  X(kKeyMaterial, 0x420043)                                      \
  X(kKeyValue, 0x420045)                                         \
  X(kKeyWrappingData, 0x420046)                                  \
  X(kKeyWrappingSpecification, 0x420047)                         \
  X(kLastChangeDate, 0x420048)                                   \
  X(kLink, 0x42004A)                                             \
  X(kLinkType, 0x42004B)                                         \
  X(kLinkedObjectIdentifier, 0x42004C)                           \
  X(kMaximumItems, 0x42004F)                                     \
  X(kMaximumResponseSize, 0x420050)                              \
  X(kMessageExtension, 0x420051)                                 \
  X(kModulus, 0x420052)                                          \
  X(kName, 0x420053)                                             \
  X(kNameType, 0x420054)                                         \
  X(kNameValue, 0x420055)                                        \
  X(kObjectGroup, 0x420056)                                      \
  X(kObjectType, 0x420057)                                       \
  X(kOperation, 0x42005C)                                        \
  X(kOperationPolicyName, 0x42005D)                              \
  X(kP, 0x42005E)                                                \
  X(kPaddingMethod, 0x42005F)                                    \
  X(kPrimeExponentP, 0x420060)                                   \
  X(kPrimeExponentQ, 0x420061)                                   \
  X(kPrivateExponent, 0x420063)                                  \
  X(kPrivateKey, 0x420064)                                       \
  X(kPrivateKeyTemplateAttribute, 0x420065)                      \
  X(kPrivateKeyUniqueIdentifier, 0x420066)                       \
  X(kProtocolVersion, 0x420069)                                  \
  X(kProtocolVersionMajor, 0x42006A)                             \
  X(kProtocolVersionMinor, 0x42006B)                             \
  X(kPublicExponent, 0x42006C)                                   \
  X(kPublicKey, 0x42006D)                                        \
  X(kPublicKeyTemplateAttribute, 0x42006E)                       \
  X(kPublicKeyUniqueIdentifier, 0x42006F)                        \
  X(kQ, 0x420071)                                                \
  X(kQueryFunction, 0x420074)                                    \
  X(kRequestHeader, 0x420077)                                    \
  X(kRequestMessage, 0x420078)                                   \
  X(kRequestPayload, 0x420079)                                   \
  X(kResponseHeader, 0x42007A)                                   \
  X(kResponseMessage, 0x42007B)                                  \
  X(kResponsePayload, 0x42007C)                                  \
  X(kResultMessage, 0x42007D)                                    \
  X(kResultReason, 0x42007E)                                     \
  X(kResultStatus, 0x42007F)                                     \
  X(kRevocationMessage, 0x420080)                                \
  X(kRevocationReason, 0x420081)                                 \
  X(kRevocationReasonCode, 0x420082)                             \
  X(kKeyRoleType, 0x420083)                                      \
  X(kSecretData, 0x420085)                                       \
  X(kSecretDataType, 0x420086)                                   \
  X(kServerInformation, 0x420088)                                \
  X(kState, 0x42008D)                                            \
  X(kSymmetricKey, 0x42008F)                                     \
  X(kTemplateAttribute, 0x420091)                                \
  X(kTimeStamp, 0x420092)                                        \
  X(kUniqueBatchItemId, 0x420093)                                \
  X(kUniqueIdentifier, 0x420094)                                 \
  X(kValidityIndicator, 0x42009B)                                \
  X(kVendorIdentification, 0x42009D)                             \
  X(kDigitalSignatureAlgorithm, 0x4200AE)                        \
  X(kOriginalCreationDate, 0x4200BC)                             \
  X(kData, 0x4200C2)                                             \
  X(kSignatureData, 0x4200C3)                                    \
  X(kRandomIv, 0x4200C5)                                         \
  X(kMacData, 0x4200C6)                                          \
  X(kIvLength, 0x4200CD)                                         \
  X(kTagLength, 0x4200CE)                                        \
  X(kOffsetItems, 0x4200D4)                                      \
  X(kLocatedItems, 0x4200D5)                                     \
  X(kCorrelationValue, 0x4200D6)                                 \
  X(kInitIndicator, 0x4200D7)                                    \
  X(kFinalIndicator, 0x4200D8)                                   \
  X(kDescription, 0x4200FC)                                      \
  X(kComment, 0x4200FD)                                          \
  X(kAuthenticatedEncryptionAdditionalData, 0x4200FE)            \
  X(kAuthenticatedEncryptionTag, 0x4200FF)                       \
  X(kDigestedData, 0x420107)                                     \
  X(kSensitive, 0x420120)                                        \
  X(kAlwaysSensitive, 0x420121)                                  \
  X(kExtractable, 0x420122)                                      \
  X(kNeverExtractable, 0x420123)                                 \
  X(kAttributes, 0x420125)                                       \
  X(kCommonAttributes, 0x420126)                                 \
  X(kPrivateKeyAttributes, 0x420127)                             \
  X(kPublicKeyAttributes, 0x420128)                              \
  X(kAttributeReference, 0x42013B)                               \
  X(kCurrentAttribute, 0x42013C)                                 \
  X(kNewAttribute, 0x42013D)

enum class Tag : uint32_t {
#define KW_KMIP_TAG_ENUM(name, value) name = value,
  KW_KMIP_TAGS(KW_KMIP_TAG_ENUM)
#undef KW_KMIP_TAG_ENUM
};

// The tag's name without the leading "k" ("UniqueIdentifier"), or "" for a
// tag this table does not hold. For diagnostics only.
std::string_view TagName(uint32_t tag);

// Operation (KMIP 1.4 §9.1.3.2.27).
enum class Operation : uint32_t {
  kCreate = 0x01,
  kCreateKeyPair = 0x02,
  kRegister = 0x03,
  kLocate = 0x08,
  kGet = 0x0A,
  kGetAttributes = 0x0B,
  kGetAttributeList = 0x0C,
  kAddAttribute = 0x0D,
  kModifyAttribute = 0x0E,
  kDeleteAttribute = 0x0F,
  kActivate = 0x12,
  kRevoke = 0x13,
  kDestroy = 0x14,
  kQuery = 0x18,
  kDiscoverVersions = 0x1E,
  kEncrypt = 0x1F,
  kDecrypt = 0x20,
  kSign = 0x21,
  kSignatureVerify = 0x22,
  kMac = 0x23,
};

// Result Status (§9.1.3.2.28).
enum class ResultStatus : uint32_t {
  kSuccess = 0,
  kOperationFailed = 1,
  kOperationPending = 2,
  kOperationUndone = 3,
};

// Result Reason (KMIP 1.4 §9.1.3.2.29; 2.0 §11.42 adds 0x19 and up).
enum class ResultReason : uint32_t {
  kItemNotFound = 0x01,
  kResponseTooLarge = 0x02,
  kAuthenticationNotSuccessful = 0x03,
  kInvalidMessage = 0x04,
  kOperationNotSupported = 0x05,
  kMissingData = 0x06,
  kInvalidField = 0x07,
  kFeatureNotSupported = 0x08,
  kOperationCanceledByRequester = 0x09,
  kCryptographicFailure = 0x0A,
  kIllegalOperation = 0x0B,
  kPermissionDenied = 0x0C,
  kObjectArchived = 0x0D,
  kIndexOutOfBounds = 0x0E,
  kKeyFormatTypeNotSupported = 0x10,
  kKeyCompressionTypeNotSupported = 0x11,
  kKeyValueNotPresent = 0x13,
  kSensitive = 0x16,
  kNotExtractable = 0x17,
  kObjectAlreadyExists = 0x18,
  kWrongKeyLifecycleState = 0x43,  // 2.0 only; 1.x answers kIllegalOperation
  kGeneralFailure = 0x100,
};

// Batch Error Continuation Option (§9.1.3.2.30).
enum class BatchErrorContinuation : uint32_t {
  kContinue = 1,
  kStop = 2,
  kUndo = 3,
};

// Object Type (§9.1.3.2.12).
enum class ObjectType : uint32_t {
  kCertificate = 1,
  kSymmetricKey = 2,
  kPublicKey = 3,
  kPrivateKey = 4,
  kSplitKey = 5,
  kTemplate = 6,
  kSecretData = 7,
  kOpaqueObject = 8,
  kPgpKey = 9,
};

// Cryptographic Algorithm (§9.1.3.2.13), the ones the issue names.
enum class CryptographicAlgorithm : uint32_t {
  kAes = 0x03,
  kRsa = 0x04,
  kHmacSha1 = 0x07,
  kHmacSha224 = 0x08,
  kHmacSha256 = 0x09,
  kHmacSha384 = 0x0A,
  kHmacSha512 = 0x0B,
};

// Key Format Type (§9.1.3.2.3).
enum class KeyFormatType : uint32_t {
  kRaw = 0x01,
  kOpaque = 0x02,
  kPkcs1 = 0x03,
  kPkcs8 = 0x04,
  kX509 = 0x05,
  kTransparentSymmetricKey = 0x07,
  kTransparentRsaPrivateKey = 0x0A,
  kTransparentRsaPublicKey = 0x0B,
};

// State (§9.1.3.2.17).
enum class State : uint32_t {
  kPreActive = 1,
  kActive = 2,
  kDeactivated = 3,
  kCompromised = 4,
  kDestroyed = 5,
  kDestroyedCompromised = 6,
};

// Name Type (§9.1.3.2.11).
enum class NameType : uint32_t {
  kUninterpretedTextString = 1,
  kUri = 2,
};

// Secret Data Type (§9.1.3.2.9).
enum class SecretDataType : uint32_t {
  kPassword = 1,
  kSeed = 2,
};

// Block Cipher Mode (§9.1.3.2.14).
enum class BlockCipherMode : uint32_t {
  kCbc = 0x01,
  kEcb = 0x02,
  kCtr = 0x06,
  kGcm = 0x09,
};

// Padding Method (§9.1.3.2.15).
enum class PaddingMethod : uint32_t {
  kNone = 0x01,
  kOaep = 0x02,
  kPkcs5 = 0x03,
  kPkcs1v15 = 0x08,
  kPss = 0x0A,
};

// Hashing Algorithm (§9.1.3.2.16).
enum class HashingAlgorithm : uint32_t {
  kSha1 = 0x04,
  kSha224 = 0x05,
  kSha256 = 0x06,
  kSha384 = 0x07,
  kSha512 = 0x08,
};

// Digital Signature Algorithm (§9.1.3.2.7, KMIP 1.1 and later).
enum class DigitalSignatureAlgorithm : uint32_t {
  kSha256WithRsaEncryption = 0x05,
  kSha384WithRsaEncryption = 0x06,
  kSha512WithRsaEncryption = 0x07,
  kRsassaPss = 0x08,
};

// Revocation Reason Code (§9.1.3.2.19).
enum class RevocationReasonCode : uint32_t {
  kUnspecified = 1,
  kKeyCompromise = 2,
  kCaCompromise = 3,
  kAffiliationChanged = 4,
  kSuperseded = 5,
  kCessationOfOperation = 6,
  kPrivilegeWithdrawn = 7,
};

// Query Function (§9.1.3.2.24).
enum class QueryFunction : uint32_t {
  kOperations = 1,
  kObjects = 2,
  kServerInformation = 3,
};

// Validity Indicator (§9.1.3.2.22).
enum class ValidityIndicator : uint32_t {
  kValid = 1,
  kInvalid = 2,
  kUnknown = 3,
};

// Cryptographic Usage Mask bits (§9.1.3.3.1).
inline constexpr int32_t kUsageSign = 0x01;
inline constexpr int32_t kUsageVerify = 0x02;
inline constexpr int32_t kUsageEncrypt = 0x04;
inline constexpr int32_t kUsageDecrypt = 0x08;
inline constexpr int32_t kUsageMacGenerate = 0x80;
inline constexpr int32_t kUsageMacVerify = 0x100;

}  // namespace keywarden::api::kmip

#endif  // KEYWARDEN_API_KMIP_TAGS_H_
