// Fuzz target: the KMIP TTLV codec and message layer (docs/formats/kmip.md).
// Targets api::kmip::DecodeTtlv / EncodeTtlv / TtlvMessageSize / DebugString
// and KmipProtocol::Process over a scripted backend (fixed answers, no clock
// or randomness: FakeClock, canned identifiers and key bytes).
//
// Properties (each checked with __builtin_trap()):
// - canonical form: an input that decodes re-encodes to exactly its bytes;
// - framing: for a decoded structure, TtlvMessageSize of its first 8 bytes
//   is the input's size;
// - Process always answers a Response Message that decodes, re-encodes to
//   itself, has a header with a Batch Count equal to its batch items, and at
//   least one batch item;
// - Process never answers more items than the request has (a malformed
//   request gets exactly one).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "keywarden/api/kmip/protocol.h"
#include "keywarden/api/kmip/scripted_backend_test_util.h"
#include "keywarden/api/kmip/ttlv.h"

namespace kmip = keywarden::api::kmip;

namespace {

void Configure(kmip::ScriptedBackend& b) {
  b.next_create = {kmip::ObjectType::kSymmetricKey, "1"};
  b.next_create_key_pair = {"2", "3"};
  b.next_get.unique_identifier = "1";
  b.next_get.object.algorithm = kmip::CryptographicAlgorithm::kAes;
  b.next_get.object.length = 128;
  b.next_get.object.material = keywarden::SecretBytes(16);
  b.next_get_attributes.unique_identifier = "1";
  b.next_get_attributes.attributes.AddEnum(kmip::Tag::kState, 2);
  b.next_get_attributes.attributes.AddName("n");
  b.next_get_attribute_list = {"1", {{static_cast<uint32_t>(kmip::Tag::kState), ""}}};
  b.next_change.unique_identifier = "1";
  b.next_locate.unique_identifiers = {"1", "2"};
  b.next_locate.located_items = 2;
  b.next_encrypt = {"1", std::string(16, 'c'), std::string(12, 'i'), std::string(16, 't')};
  b.next_decrypt.unique_identifier = "1";
  b.next_decrypt.data = keywarden::SecretBytes(4);
  b.next_mac = {"1", std::string(32, 'm')};
  b.next_sign = {"1", std::string(256, 's')};
  b.next_verify = {"1", kmip::ValidityIndicator::kValid};
}

std::span<const uint8_t> Span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  auto item = kmip::DecodeTtlv(input);
  size_t request_items = 0;
  if (item.ok()) {
    auto again = kmip::EncodeTtlv(*item);
    if (!again.ok() || again->size() != size ||
        std::string_view(*again) !=
            std::string_view(reinterpret_cast<const char*>(data), size)) {
      __builtin_trap();  // not canonical
    }
    if (item->type() == kmip::ItemType::kStructure) {
      auto framed = kmip::TtlvMessageSize(input.first(8), SIZE_MAX);
      if (!framed.ok() || *framed != size) __builtin_trap();
    }
    (void)kmip::DebugString(*item);
    request_items = item->FindAll(kmip::Tag::kBatchItem).size();
  }

  keywarden::FakeClock clock;
  kmip::ScriptedBackend backend;
  Configure(backend);
  kmip::KmipProtocol protocol(backend, backend, clock);
  kmip::KmipClient client;
  client.certificate_sha256 = std::string(32, 'f');
  std::string out = protocol.Process(input, client);
  auto response = kmip::DecodeTtlv(Span(out));
  if (!response.ok() || !response->Is(kmip::Tag::kResponseMessage)) __builtin_trap();
  auto reencoded = kmip::EncodeTtlv(*response);
  if (!reencoded.ok() || *reencoded != out) __builtin_trap();
  const kmip::Item* header = response->Find(kmip::Tag::kResponseHeader);
  if (header == nullptr) __builtin_trap();
  const kmip::Item* count = header->Find(kmip::Tag::kBatchCount);
  size_t items = response->FindAll(kmip::Tag::kBatchItem).size();
  if (count == nullptr || items == 0 || static_cast<size_t>(count->int_value()) != items) {
    __builtin_trap();
  }
  if (items > std::max<size_t>(request_items, 1)) __builtin_trap();
  return 0;
}
