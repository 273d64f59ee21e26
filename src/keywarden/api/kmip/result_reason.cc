#include "keywarden/api/kmip/result_reason.h"

#include <optional>

#include "absl/strings/cord.h"
#include "keywarden/api/kmip/messages.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"

namespace keywarden::api::kmip {
namespace {

constexpr char kReasonPayload[] = "keywarden.kmip/result-reason";

absl::StatusCode CodeFor(ResultReason reason) {
  switch (reason) {
    case ResultReason::kItemNotFound:
      return absl::StatusCode::kNotFound;
    case ResultReason::kPermissionDenied:
    case ResultReason::kSensitive:
    case ResultReason::kNotExtractable:
      return absl::StatusCode::kPermissionDenied;
    case ResultReason::kAuthenticationNotSuccessful:
      return absl::StatusCode::kUnauthenticated;
    case ResultReason::kOperationNotSupported:
    case ResultReason::kFeatureNotSupported:
    case ResultReason::kKeyFormatTypeNotSupported:
    case ResultReason::kKeyCompressionTypeNotSupported:
      return absl::StatusCode::kUnimplemented;
    case ResultReason::kIllegalOperation:
    case ResultReason::kWrongKeyLifecycleState:
      return absl::StatusCode::kFailedPrecondition;
    case ResultReason::kIndexOutOfBounds:
      return absl::StatusCode::kOutOfRange;
    case ResultReason::kObjectAlreadyExists:
      return absl::StatusCode::kAlreadyExists;
    case ResultReason::kCryptographicFailure:
      return absl::StatusCode::kDataLoss;
    case ResultReason::kResponseTooLarge:
      return absl::StatusCode::kResourceExhausted;
    case ResultReason::kGeneralFailure:
      return absl::StatusCode::kInternal;
    default:
      return absl::StatusCode::kInvalidArgument;
  }
}

std::optional<ResultReason> ExplicitReason(const absl::Status& status) {
  auto payload = status.GetPayload(kReasonPayload);
  if (!payload) return std::nullopt;
  std::string text(*payload);
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  return static_cast<ResultReason>(value);
}

// The Result Message of `status`: a field error (FieldError) reads
// "field <name>: <requirement>" whatever protocol named the field; any other
// status its own message.
std::string ResultMessageOf(const absl::Status& status) {
  if (std::optional<FieldErrorParts> field = FieldErrorOf(status)) {
    return StrCat("field ", field->name, ": ", field->requirement);
  }
  return std::string(StdView(status.message()));
}

}  // namespace

absl::Status KmipError(ResultReason reason, std::string_view message) {
  absl::Status status(CodeFor(reason), AbslView(message));
  status.SetPayload(kReasonPayload,
                    absl::Cord(std::to_string(static_cast<uint32_t>(reason))));
  return status;
}

MappedError MapStatus(const absl::Status& status,
                      const ProtocolVersion& version) {
  std::string message = ResultMessageOf(status);
  if (std::optional<ResultReason> reason = ExplicitReason(status)) {
    if (*reason == ResultReason::kWrongKeyLifecycleState && version.major < 2) {
      return {ResultReason::kIllegalOperation, message};
    }
    return {*reason, message};
  }
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return {ResultReason::kItemNotFound, message};
    case absl::StatusCode::kPermissionDenied:
      return {ResultReason::kPermissionDenied, message};
    case absl::StatusCode::kUnauthenticated:
      return {ResultReason::kAuthenticationNotSuccessful, message};
    case absl::StatusCode::kInvalidArgument:
      return {ResultReason::kInvalidField, message};
    case absl::StatusCode::kOutOfRange:
      return {ResultReason::kIndexOutOfBounds, message};
    case absl::StatusCode::kFailedPrecondition:
      return {version.major >= 2 ? ResultReason::kWrongKeyLifecycleState
                                 : ResultReason::kIllegalOperation,
              message};
    case absl::StatusCode::kAlreadyExists:
      return {ResultReason::kObjectAlreadyExists, message};
    case absl::StatusCode::kUnimplemented:
      return {ResultReason::kOperationNotSupported, message};
    case absl::StatusCode::kDataLoss:
      return {ResultReason::kCryptographicFailure, message};
    default:
      return {ResultReason::kGeneralFailure, "internal server error"};
  }
}

}  // namespace keywarden::api::kmip
