#ifndef KEYWARDEN_API_KEYPROTECT_JSON_CODEC_INTERNAL_H_
#define KEYWARDEN_API_KEYPROTECT_JSON_CODEC_INTERNAL_H_

// Internal to the JSON codec's files (json_codec.cc, json_codec_lifecycle.cc):
// the readers and writers every Key Protect body shares, defined once in
// json_codec.cc. Not for other modules: nothing outside the codec sees
// Boost.JSON.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/common/errors.h"
#include "keywarden/service/types.h"

namespace keywarden::api::keyprotect::json_internal {

// BAD_REQUEST_ERR "Bad Request: <detail>" (the admin and seal bodies).
absl::Status BadRequest(std::string_view detail,
                        std::optional<std::string_view> field = std::nullopt);

// BAD_BODY_ERR "Invalid body data was passed: <detail>".
absl::Status BadBody(std::string_view detail,
                     std::optional<std::string_view> field = std::nullopt);
bool IsBlank(std::string_view body);
// Parses `body`; an empty body or `null` gives a null value. `storage`
// lets the data-plane decoders parse into a stack buffer. A member name
// repeated in an object (in any case, at any depth) is BAD_BODY_ERR with the
// name as its field (RFC 7493 §2.3); other failures carry no field.
absl::StatusOr<boost::json::value> Parse(std::string_view body,
                                         boost::json::storage_ptr storage = {});
// The object of an optional body: empty body, null and {} all mean "no
// fields"; anything else must be an object.
absl::StatusOr<boost::json::object> OptionalObject(
    std::string_view body, boost::json::storage_ptr storage = {});
// Field lookup ignoring the case of the key, as a Go encoding/json server
// does (the Go client sends "Tags" and "KeyRingID").
const boost::json::value* Find(const boost::json::object& obj,
                               std::string_view name);
// A string field, absent or null as nullopt; BAD_BODY_ERR otherwise.
absl::StatusOr<std::optional<std::string>> OptString(
    const boost::json::object& obj, std::string_view name);
absl::StatusOr<std::vector<std::string>> StringList(
    const boost::json::object& obj, std::string_view name, Reason reason);
// The collectionType values an endpoint accepts, the first one named in
// errors (keyprotect-api.md §1.3).
using CollectionTypes = std::initializer_list<std::string_view>;
// The resources of a collection body (keyprotect-api.md §1.3): metadata
// present and not empty; collectionType, when given, one of `types`;
// collectionTotal, when given, an integer equal to the count; every
// resource an object. With `single`, anything but one resource is
// BAD_BODY_ERR `*single`, before the total is compared.
absl::StatusOr<boost::json::array> Resources(
    std::string_view body, CollectionTypes types,
    std::optional<std::string_view> single = std::nullopt);
// The single resource of a create/update body (§3.1); `one_only` is the
// error detail when there are more or none.
absl::StatusOr<boost::json::object> SingleResource(std::string_view body,
                                                   CollectionTypes types,
                                                   std::string_view one_only);
void PutTime(boost::json::object& obj, std::string_view name, absl::Time t);
// A collection document of `type`, `totalCount` when given.
std::string Collection(std::string_view type, boost::json::array resources,
                       std::optional<int64_t> total_count = std::nullopt);

// The `rotation` / `dualAuthDelete` objects of a key or policy resource,
// if present (json_codec_lifecycle.cc).
absl::StatusOr<std::optional<service::RotationPolicyInput>>
DecodeRotationPolicy(const boost::json::object& resource);
absl::StatusOr<std::optional<bool>> DecodeDualAuthPolicy(
    const boost::json::object& resource);

}  // namespace keywarden::api::keyprotect::json_internal

#endif  // KEYWARDEN_API_KEYPROTECT_JSON_CODEC_INTERNAL_H_
