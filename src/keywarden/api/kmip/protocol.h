#ifndef KEYWARDEN_API_KMIP_PROTOCOL_H_
#define KEYWARDEN_API_KMIP_PROTOCOL_H_

// The KMIP message layer: one request message in, one response message out.
// Decodes the TTLV, parses the header, runs the batch items in order through
// a table of operations (one row each: operation, first version, handler)
// against the backend interfaces of messages.h, and encodes the answer.
//
// Batches (KMIP 1.4 §7.1/§9.1.3.2.30): Continue runs every item; Stop ends
// the batch at the first failed item (later items get no answer); Undo is
// answered as Stop, because the backend's operations commit as they run and
// cannot be rolled back: the items before the failure keep their Success
// status, which is what happened. Discover Versions and Query are answered
// by this layer; everything else goes to the backend.
//
// Thread-safe: Process keeps no state across calls (the ID Placeholder
// lives for one message).

#include <cstdint>
#include <span>
#include <string>

#include "keywarden/api/kmip/messages.h"
#include "keywarden/common/clock.h"

namespace keywarden::api::kmip {

struct KmipProtocolOptions {
  // Query's Vendor Identification.
  std::string vendor_identification = "Keywarden";
};

class KmipProtocol {
 public:
  // `objects`, `crypto` and `clock` must outlive this object.
  KmipProtocol(KmipObjects& objects, KmipCrypto& crypto, const Clock& clock,
               KmipProtocolOptions options = {});

  // Always returns an encoded Response Message. A message that does not
  // decode or parse is answered with one failed item (Invalid Message) at
  // the request's version when it can be read, else 1.0. The answer may
  // hold key material: the caller wipes it once written (WipeString).
  std::string Process(std::span<const uint8_t> request,
                      const KmipClient& client) const;

  // The same from a decoded request (for tests); returns the response item.
  Item ProcessMessage(const Item& request, const KmipClient& client) const;

 private:
  KmipObjects& objects_;
  KmipCrypto& crypto_;
  const Clock& clock_;
  KmipProtocolOptions options_;
};

// Whether `message` asks for an operation that may take long (Create Key
// Pair: RSA-4096 generation takes about a second), for the server's
// offload predicate. Decodes the message; false for anything undecodable
// (Process answers that quickly).
bool MayBeSlow(std::span<const uint8_t> message);

// The operations Process dispatches (Query's answer), in table order.
std::vector<Operation> SupportedOperations();

}  // namespace keywarden::api::kmip

#endif  // KEYWARDEN_API_KMIP_PROTOCOL_H_
