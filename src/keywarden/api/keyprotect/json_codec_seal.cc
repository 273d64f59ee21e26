// The seal endpoints' half of the JSON codec (docs/admin-api.md, "Seal").
// Same rules as json_codec_admin.cc.
#include <boost/json.hpp>

#include "keywarden/api/keyprotect/json_codec.h"
#include "keywarden/api/keyprotect/json_codec_internal.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::api::keyprotect {
namespace json = boost::json;
namespace {

using json_internal::BadRequest;

absl::StatusOr<json::object> OptionalObjectBody(std::string_view body) {
  absl::StatusOr<json::object> obj = json_internal::OptionalObject(body);
  if (!obj.ok() && FieldOf(obj.status()).has_value()) return obj.status();
  if (!obj.ok()) return BadRequest("the body must be a JSON object");
  return obj;
}

absl::StatusOr<int> Count(const json::object& obj, std::string_view name) {
  const json::value* v = json_internal::Find(obj, name);
  if (v == nullptr || v->is_null()) {
    return BadRequest(StrCat("`", name, "` is required"), name);
  }
  if (!v->is_int64() && !v->is_uint64()) {
    return BadRequest(StrCat("`", name, "` must be an integer from 1 to 255"),
                      name);
  }
  const int64_t n = v->is_int64() ? v->as_int64()
                                  : static_cast<int64_t>(
                                        std::min<uint64_t>(v->as_uint64(), 256));
  if (n < 1 || n > 255) {
    return BadRequest(StrCat("`", name, "` must be an integer from 1 to 255"),
                      name);
  }
  return static_cast<int>(n);
}

std::string_view TypeName(seal::SealType type) {
  switch (type) {
    case seal::SealType::kFile:
      return "file";
    case seal::SealType::kShamir:
      return "shamir";
    case seal::SealType::kPkcs11:
      return "pkcs11";
  }
  return "file";
}

}  // namespace

absl::StatusOr<SealInitRequest> DecodeSealInit(std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::object obj, OptionalObjectBody(body));
  SealInitRequest req;
  KW_ASSIGN_OR_RETURN(req.shares, Count(obj, "shares"));
  KW_ASSIGN_OR_RETURN(req.threshold, Count(obj, "threshold"));
  return req;
}

absl::StatusOr<SecretBytes> DecodeUnseal(std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::object obj, OptionalObjectBody(body));
  const json::value* v = json_internal::Find(obj, "share");
  SecretBytes share;
  if (v != nullptr && !v->is_null()) {
    if (!v->is_string()) return BadRequest("`share` must be a string", "share");
    const json::string& s = v->as_string();
    share = SecretBytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  // The parsed copy of the share goes with `obj`; wipe it first.
  if (json::value* mv = obj.if_contains("share"); mv && mv->is_string()) {
    WipeMemory(mv->as_string().data(), mv->as_string().size());
  }
  return share;
}

absl::StatusOr<service::RekeyOptions> DecodeRekey(std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::object obj, OptionalObjectBody(body));
  service::RekeyOptions options;
  auto number = [&](std::string_view name, int64_t max,
                    int64_t* out) -> absl::Status {
    const json::value* v = json_internal::Find(obj, name);
    if (v == nullptr || v->is_null()) return absl::OkStatus();
    const bool in_range =
        (v->is_int64() && v->as_int64() >= 0 && v->as_int64() <= max) ||
        (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(max));
    if (!in_range) {
      return BadRequest(
          StrCat("`", name, "` must be an integer from 0 to ", max), name);
    }
    *out = v->is_int64() ? v->as_int64() : static_cast<int64_t>(v->as_uint64());
    return absl::OkStatus();
  };
  // Absent: the running rekey's settings (docs/admin-api.md).
  int64_t batch = -1;
  int64_t pause_ms = -1;
  KW_RETURN_IF_ERROR(number("batchSize", 10000, &batch));
  KW_RETURN_IF_ERROR(number("pauseMs", 60000, &pause_ms));
  // shamir: the new share set (1..255; the service checks the pair).
  int64_t shares = -1;
  int64_t threshold = -1;
  KW_RETURN_IF_ERROR(number("shares", 255, &shares));
  KW_RETURN_IF_ERROR(number("threshold", 255, &threshold));
  if (shares == 0) {
    return BadRequest("`shares` must be an integer from 1 to 255", "shares");
  }
  if (threshold == 0) {
    return BadRequest("`threshold` must be an integer from 1 to 255",
                      "threshold");
  }
  if (shares > 0) options.shares = static_cast<int>(shares);
  if (threshold > 0) options.threshold = static_cast<int>(threshold);
  if (batch >= 0) options.batch_size = static_cast<int>(batch);
  if (pause_ms >= 0) options.pause = absl::Milliseconds(pause_ms);
  return options;
}

std::string EncodeSealStatus(const service::SealStatus& s) {
  json::object obj{{"type", TypeName(s.type)},
                   {"initialized", s.initialized},
                   {"sealed", s.sealed}};
  if (!s.key_id.empty()) obj["keyId"] = s.key_id;
  if (s.type == seal::SealType::kShamir) {
    obj["shares"] = s.shares;
    obj["threshold"] = s.threshold;
    obj["progress"] = s.progress;
  }
  if (s.rekey_in_progress) {
    json::object rekey{{"toKeyId", s.rekey_to},
                       {"remaining", s.rekey_remaining},
                       {"verified", s.rekey_verified}};
    if (s.rekey_threshold > 0) {
      rekey["shares"] = s.rekey_shares;
      rekey["threshold"] = s.rekey_threshold;
    }
    if (!s.rekey_verified) rekey["verifyProgress"] = s.rekey_verify_progress;
    if (!s.rekey_error.empty()) rekey["error"] = s.rekey_error;
    obj["rekey"] = std::move(rekey);
  }
  return json::serialize(obj);
}

std::string EncodeRekeyResult(const service::RekeyResult& r) {
  if (r.shares.empty()) return EncodeSealStatus(r.status);
  json::array shares;
  for (const std::string& s : r.shares) shares.emplace_back(s);
  json::object obj{{"shares", std::move(shares)},
                   {"threshold", r.threshold},
                   {"keyId", r.key_id},
                   {"seal", json::parse(EncodeSealStatus(r.status))}};
  return json::serialize(obj);
}

std::string EncodeSealInit(const service::SealInitResult& r) {
  json::array shares;
  for (const std::string& s : r.shares) shares.emplace_back(s);
  json::object obj{{"shares", std::move(shares)},
                   {"threshold", r.threshold},
                   {"keyId", r.key_id}};
  return json::serialize(obj);
}

}  // namespace keywarden::api::keyprotect
