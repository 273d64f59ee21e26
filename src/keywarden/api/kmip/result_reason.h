#ifndef KEYWARDEN_API_KMIP_RESULT_REASON_H_
#define KEYWARDEN_API_KMIP_RESULT_REASON_H_

// The one place where a Status becomes a KMIP Result Reason and Result
// Message (issue 12: each protocol maps domain errors in one place).

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "keywarden/api/kmip/tags.h"

namespace keywarden::api::kmip {

struct ProtocolVersion;

// A status that carries an explicit KMIP reason (for errors the protocol
// layer itself finds: Invalid Message, Key Format Type Not Supported, ...).
// The absl code is chosen to match the reason, so code-only callers still
// see a sensible class of error. `message` must be client-safe.
absl::Status KmipError(ResultReason reason, std::string_view message);

struct MappedError {
  ResultReason reason;
  std::string message;  // client-safe Result Message
};

// Maps `status` (not OK) to the reason and message a batch item answers
// with, for the request's protocol `version`:
//   explicit reason (KmipError)     -> that reason
//   NotFound                        -> Item Not Found
//   PermissionDenied                -> Permission Denied
//   Unauthenticated                 -> Authentication Not Successful
//   InvalidArgument                 -> Invalid Field
//   OutOfRange                      -> Index Out Of Bounds
//   FailedPrecondition              -> Wrong Key Lifecycle State (2.0),
//                                      Illegal Operation (1.x)
//   AlreadyExists                   -> Object Already Exists
//   Unimplemented                   -> Operation Not Supported
//   DataLoss                        -> Cryptographic Failure (a tag or
//                                      ciphertext that does not verify)
//   anything else                   -> General Failure
// A field error (FieldError) answers "field <name>: <requirement>"; other
// statuses their own message. The message of the last group (Internal, Unknown, Unavailable, ...) is
// replaced by a fixed text: such causes may name files or internals.
MappedError MapStatus(const absl::Status& status,
                      const ProtocolVersion& version);

}  // namespace keywarden::api::kmip

#endif  // KEYWARDEN_API_KMIP_RESULT_REASON_H_
