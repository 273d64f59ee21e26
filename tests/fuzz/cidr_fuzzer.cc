// Fuzz target: IP addresses and CIDR blocks (common/cidr.h), read from the
// allowedIP instance policy (keyprotect-api.md §7.2) and from peer
// addresses. Targets ParseIpAddress, Cidr::Parse, Cidr::ToString,
// Cidr::Contains and AnyContains on the input read as text.
//
// Properties (each checked with __builtin_trap()):
// - an accepted address has is_v4 exactly when it is in ::ffff:0:0/96;
// - an accepted address is also an accepted bare block, the host block that
//   contains it;
// - ToString() of an accepted block re-parses, to a block with the same
//   ToString() (one spelling per block), that contains the same probes:
//   its network address and last address, and not the addresses just
//   outside it (the bit before the host part flipped);
// - AnyContains over the default private networks is the OR of Contains.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keywarden/common/cidr.h"

namespace {

using keywarden::Cidr;
using keywarden::IpAddress;

bool InMappedPrefix(const std::array<uint8_t, 16>& b) {
  for (int i = 0; i < 10; ++i) {
    if (b[i] != 0) return false;
  }
  return b[10] == 0xff && b[11] == 0xff;
}

// Sets (or clears) every bit from `bits` on: the block's last address.
IpAddress WithHostBits(IpAddress a, int bits, bool set) {
  for (int i = bits; i < 128; ++i) {
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (i % 8));
    if (set) {
      a.bytes[i / 8] |= mask;
    } else {
      a.bytes[i / 8] &= static_cast<uint8_t>(~mask);
    }
  }
  return a;
}

IpAddress FlipBit(IpAddress a, int bit) {
  a.bytes[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
  return a;
}

void CheckBlock(const Cidr& cidr) {
  const std::string text = cidr.ToString();
  auto again = Cidr::Parse(text);
  if (!again.ok() || again->ToString() != text) __builtin_trap();

  // Split the canonical text into its address and prefix length.
  const size_t slash = text.find('/');
  if (slash == std::string::npos) __builtin_trap();
  const std::optional<IpAddress> base = keywarden::ParseIpAddress(
      std::string_view(text).substr(0, slash));
  if (!base) __builtin_trap();
  const int written = std::stoi(text.substr(slash + 1));
  const bool v4 = text.find(':') == std::string::npos;
  if (v4 != base->is_v4) __builtin_trap();  // mapped bases print as IPv4
  const int bits = v4 ? 96 + written : written;
  if (bits < 0 || bits > 128) __builtin_trap();

  const IpAddress last = WithHostBits(*base, bits, true);
  const Cidr& reparsed = *again;
  for (const Cidr* c : {&cidr, &reparsed}) {
    if (!c->Contains(*base) || !c->Contains(last)) __builtin_trap();
    if (bits > 0 && (c->Contains(FlipBit(*base, bits - 1)) ||
                     c->Contains(FlipBit(last, bits - 1)))) {
      __builtin_trap();
    }
  }
  // The network address has no host bits.
  if (WithHostBits(*base, bits, false).bytes != base->bytes) __builtin_trap();
}

const std::vector<Cidr>& PrivateBlocks() {
  static const std::vector<Cidr>* const blocks = [] {
    auto* v = new std::vector<Cidr>;
    for (std::string_view text : keywarden::DefaultPrivateNetworks()) {
      auto c = Cidr::Parse(text);
      if (!c.ok()) __builtin_trap();
      v->push_back(*c);
    }
    return v;
  }();
  return *blocks;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const std::optional<IpAddress> address = keywarden::ParseIpAddress(text);
  if (address) {
    if (address->is_v4 != InMappedPrefix(address->bytes)) __builtin_trap();
    auto host = Cidr::Parse(text);
    if (!host.ok() || !host->Contains(*address)) __builtin_trap();
    const std::string host_text = host->ToString();
    if (host_text.substr(host_text.find('/')) !=
        (address->is_v4 ? "/32" : "/128")) {
      __builtin_trap();
    }
    bool any = false;
    for (const Cidr& c : PrivateBlocks()) any = any || c.Contains(*address);
    if (keywarden::AnyContains(PrivateBlocks(), *address) != any) {
      __builtin_trap();
    }
  }

  auto cidr = Cidr::Parse(text);
  if (cidr.ok()) CheckBlock(*cidr);
  return 0;
}
