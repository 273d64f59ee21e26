#ifndef KEYWARDEN_CLIENT_ERRORS_H_
#define KEYWARDEN_CLIENT_ERRORS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

// How the client turns a Key Protect error answer into an absl::Status, and
// the percent-encoding of path segments, query and form values.
namespace keywarden::client {

// ErrorFromResponse turns a non-2xx answer into a status whose message is
// "<REASON_CODE>: <message>" from the Key Protect error envelope
// (resources[0].reasons[0].code/message, docs/api.md "Errors"), or
// "HTTP <status>" when the body is not an envelope. The code follows the
// HTTP status (400/413/422 InvalidArgument, 401 Unauthenticated, 403
// PermissionDenied, 404/410 NotFound, 409/412 FailedPrecondition, 429
// ResourceExhausted, 503 Unavailable, 504 DeadlineExceeded, other 5xx
// Internal). The reason code is also attached as the payload
// kReasonPayload, for callers that act on it (ReasonOf). Control characters
// from the server are replaced with '?', so a hostile server cannot drive a
// terminal or forge log lines.
absl::Status ErrorFromResponse(int http_status, std::string_view body);

inline constexpr std::string_view kReasonPayload =
    "type.keywarden.dev/keyprotect.reason";

// The Key Protect reason code of a status made by ErrorFromResponse ("" for
// any other status).
std::string ReasonOf(const absl::Status& status);

// Printable replaces control characters (C0, DEL and C1, including ESC and
// newlines) with '?', so that text chosen by others (names, server messages)
// cannot move the cursor or forge extra lines in a terminal or a log.
std::string Printable(std::string_view s);

// PercentEncode escapes everything but RFC 3986 unreserved characters, for
// path segments, query values and form values.
std::string PercentEncode(std::string_view s);

}  // namespace keywarden::client

#endif  // KEYWARDEN_CLIENT_ERRORS_H_
