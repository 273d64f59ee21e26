#include "keywarden/common/cidr.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace keywarden {
namespace {

using ::testing::HasSubstr;

IpAddress Ip(std::string_view text) {
  std::optional<IpAddress> a = ParseIpAddress(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

Cidr Block(std::string_view text) {
  absl::StatusOr<Cidr> c = Cidr::Parse(text);
  EXPECT_TRUE(c.ok()) << text << ": " << c.status();
  return c.ok() ? *c : *Cidr::Parse("255.255.255.255/32");
}

std::string Canonical(std::string_view text) { return Block(text).ToString(); }

TEST(ParseIpAddressTest, Ipv4IsHeldInMappedForm) {
  const IpAddress a = Ip("192.0.2.1");
  EXPECT_TRUE(a.is_v4);
  const std::array<uint8_t, 16> mapped = {0, 0, 0, 0, 0,    0,    0, 0,
                                          0, 0, 0xff, 0xff, 192, 0, 2, 1};
  EXPECT_EQ(a.bytes, mapped);
  EXPECT_TRUE(Ip("0.0.0.0").is_v4);
  EXPECT_TRUE(Ip("255.255.255.255").is_v4);
}

TEST(ParseIpAddressTest, Ipv4MappedIpv6LiteralCountsAsIpv4) {
  // RFC 4291 §2.5.5.2: what a dual-stack socket reports for a v4 client.
  const IpAddress mapped = Ip("::ffff:192.0.2.1");
  EXPECT_TRUE(mapped.is_v4);
  EXPECT_EQ(mapped.bytes, Ip("192.0.2.1").bytes);
  EXPECT_EQ(Ip("::FFFF:c000:0201").bytes, Ip("192.0.2.1").bytes);
  EXPECT_TRUE(Ip("0:0:0:0:0:ffff:c000:201").is_v4);
}

TEST(ParseIpAddressTest, Ipv6Forms) {
  // RFC 4291 §2.2: full, compressed and mixed notations of one address.
  const IpAddress a = Ip("2001:db8::1");
  EXPECT_FALSE(a.is_v4);
  EXPECT_EQ(Ip("2001:0db8:0000:0000:0000:0000:0000:0001").bytes, a.bytes);
  EXPECT_EQ(Ip("2001:DB8:0:0:0:0:0:1").bytes, a.bytes);
  EXPECT_EQ(a.bytes[0], 0x20);
  EXPECT_EQ(a.bytes[15], 0x01);
  EXPECT_FALSE(Ip("::").is_v4);
  EXPECT_FALSE(Ip("::1").is_v4);
  // The deprecated IPv4-compatible form (§2.5.5.1) is IPv6, not IPv4.
  EXPECT_FALSE(Ip("::192.0.2.1").is_v4);
  EXPECT_FALSE(Ip("64:ff9b::192.0.2.1").is_v4);
}

TEST(ParseIpAddressTest, RejectsWhatIsNotOneLiteral) {
  for (std::string_view bad : {
           "", " ", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-1",
           // inet_aton's forms: octal, hex, shortened; leading zeros.
           "010.0.0.1", "1.2.3.04", "0x7f.0.0.1", "127.1", "2130706433",
           " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/32", "a.b.c.d",
           "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", ":", ":::", "[::1]",
           "fe80::1%eth0", "fe80::1%1", "::ffff:1.2.3.04", "::ffff:1.2.3",
           "2001:db8::g", "localhost",
       }) {
    EXPECT_FALSE(ParseIpAddress(bad).has_value()) << "\"" << bad << "\"";
  }
  // An embedded NUL must not end the literal early (inet_pton reads a C
  // string).
  EXPECT_FALSE(ParseIpAddress(std::string_view("10.0.0.1\0junk", 13)));
  EXPECT_FALSE(ParseIpAddress(std::string_view("::1\0", 4)));
  EXPECT_FALSE(ParseIpAddress(std::string(100, '1')));
}

TEST(CidrParseTest, CanonicalSpellingsRoundTrip) {
  for (std::string_view text : {
           "10.0.0.0/8", "0.0.0.0/0", "192.0.2.128/25", "192.0.2.1/32",
           "255.255.255.255/32", "2001:db8::/32", "::/0", "::1/128",
           "fe80::/10", "2001:db8:0:1::/64", "::192.0.2.0/120",
       }) {
    EXPECT_EQ(Canonical(text), text);
  }
}

TEST(CidrParseTest, OtherSpellingsBecomeCanonical) {
  // A bare address is a host block.
  EXPECT_EQ(Canonical("192.0.2.7"), "192.0.2.7/32");
  EXPECT_EQ(Canonical("2001:db8::7"), "2001:db8::7/128");
  // inet_ntop's RFC 5952 shortening.
  EXPECT_EQ(Canonical("2001:0DB8:0000::/48"), "2001:db8::/48");
  // An IPv4-mapped IPv6 block, whose prefix counts IPv6 bits (96 + n), is
  // the IPv4 block.
  EXPECT_EQ(Canonical("::ffff:10.0.0.0/104"), "10.0.0.0/8");
  EXPECT_EQ(Canonical("::ffff:0.0.0.0/96"), "0.0.0.0/0");
  EXPECT_EQ(Canonical("::ffff:0:0/96"), "0.0.0.0/0");
  EXPECT_EQ(Canonical("::ffff:192.0.2.1"), "192.0.2.1/32");
}

TEST(CidrParseTest, HostBitsMustBeZero) {
  // RFC 4632 §3.1: one network, one spelling.
  for (std::string_view bad :
       {"10.0.0.1/8", "192.168.1.0/16", "192.0.2.129/25", "0.0.0.1/0",
        "2001:db8::1/64", "fe80::1/10", "::1/127", "::ffff:10.0.0.1/104",
        // Below /96 the ffff of the mapped prefix is in the host part.
        "::ffff:0.0.0.0/95", "::ffff:0:0/80", "::ffff:0:0/0"}) {
    absl::StatusOr<Cidr> c = Cidr::Parse(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << bad;
    EXPECT_THAT(std::string(c.status().message()), HasSubstr("after the prefix"))
        << bad;
  }
  // The last bit before the host part may be set.
  EXPECT_TRUE(Cidr::Parse("192.0.2.128/25").ok());
  EXPECT_TRUE(Cidr::Parse("::1/128").ok());
  EXPECT_TRUE(Cidr::Parse("8000::/1").ok());
  EXPECT_FALSE(Cidr::Parse("8000::/0").ok());
  EXPECT_TRUE(Cidr::Parse("128.0.0.0/1").ok());
}

TEST(CidrParseTest, PrefixBounds) {
  for (int bits = 0; bits <= 32; ++bits) {
    EXPECT_TRUE(Cidr::Parse("0.0.0.0/" + std::to_string(bits)).ok()) << bits;
  }
  for (int bits = 0; bits <= 128; ++bits) {
    EXPECT_TRUE(Cidr::Parse("::/" + std::to_string(bits)).ok()) << bits;
  }
  for (std::string_view bad :
       {"0.0.0.0/33", "0.0.0.0/128", "::/129", "::/999", "::ffff:0:0/129",
        "0.0.0.0/-1", "0.0.0.0/+8", "10.0.0.0/08", "::/0128", "10.0.0.0/",
        "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.0/8 ", "10.0.0.0/8.0",
        "10.0.0.0/0x8", "10.0.0.0/1000"}) {
    absl::StatusOr<Cidr> c = Cidr::Parse(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(std::string(c.status().message()), HasSubstr("prefix length"))
        << bad;
  }
}

TEST(CidrParseTest, BadAddressesAreRejectedWithTheirText) {
  for (std::string_view bad : {"", "/8", "10.0.0/8", "010.0.0.0/8",
                               "[::1]/128", "fe80::%eth0/64", "host/24"}) {
    absl::StatusOr<Cidr> c = Cidr::Parse(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << bad;
    EXPECT_THAT(std::string(c.status().message()),
                HasSubstr("not an IPv4 or IPv6 address"))
        << bad;
  }
  // A long entry is named, not echoed whole.
  const std::string long_text(5000, 'x');
  EXPECT_LT(Cidr::Parse(long_text).status().message().size(), 200u);
}

TEST(CidrContainsTest, Ipv4Boundaries) {
  const Cidr c = Block("172.16.0.0/12");
  EXPECT_TRUE(c.Contains(Ip("172.16.0.0")));
  EXPECT_TRUE(c.Contains(Ip("172.31.255.255")));
  EXPECT_TRUE(c.Contains(Ip("172.20.1.2")));
  EXPECT_FALSE(c.Contains(Ip("172.15.255.255")));
  EXPECT_FALSE(c.Contains(Ip("172.32.0.0")));
  const Cidr host = Block("192.0.2.1");
  EXPECT_TRUE(host.Contains(Ip("192.0.2.1")));
  EXPECT_FALSE(host.Contains(Ip("192.0.2.0")));
  EXPECT_FALSE(host.Contains(Ip("192.0.2.2")));
  const Cidr odd = Block("192.0.2.128/25");
  EXPECT_TRUE(odd.Contains(Ip("192.0.2.200")));
  EXPECT_FALSE(odd.Contains(Ip("192.0.2.127")));
}

TEST(CidrContainsTest, Ipv6Boundaries) {
  const Cidr c = Block("2001:db8::/32");
  EXPECT_TRUE(c.Contains(Ip("2001:db8::")));
  EXPECT_TRUE(c.Contains(Ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(c.Contains(Ip("2001:db9::")));
  EXPECT_FALSE(c.Contains(Ip("2001:db7:ffff::")));
  const Cidr seven = Block("fc00::/7");
  EXPECT_TRUE(seven.Contains(Ip("fd12:3456::1")));
  EXPECT_FALSE(seven.Contains(Ip("fe00::1")));
}

TEST(CidrContainsTest, Ipv4BlocksMatchMappedClientsAndNothingElse) {
  const Cidr v4 = Block("10.0.0.0/8");
  // A dual-stack socket reports an IPv4 client in mapped form.
  EXPECT_TRUE(v4.Contains(Ip("::ffff:10.1.2.3")));
  EXPECT_TRUE(v4.Contains(Ip("10.1.2.3")));
  // IPv6 addresses whose low 32 bits look like 10.x never match.
  EXPECT_FALSE(v4.Contains(Ip("::10.1.2.3")));
  EXPECT_FALSE(v4.Contains(Ip("64:ff9b::10.1.2.3")));
  EXPECT_FALSE(v4.Contains(Ip("::a01:203")));
  // 0.0.0.0/0 is every IPv4 address and no IPv6 one.
  const Cidr all_v4 = Block("0.0.0.0/0");
  EXPECT_TRUE(all_v4.Contains(Ip("203.0.113.9")));
  EXPECT_FALSE(all_v4.Contains(Ip("2001:db8::1")));
  EXPECT_FALSE(all_v4.Contains(Ip("::")));
  // ::/0 is every address, IPv4 ones included (they live at ::ffff:0:0/96).
  EXPECT_TRUE(Block("::/0").Contains(Ip("203.0.113.9")));
  EXPECT_FALSE(Block("2001:db8::/32").Contains(Ip("203.0.113.9")));
}

TEST(AnyContainsTest, EmptyListContainsNothing) {
  EXPECT_FALSE(AnyContains({}, Ip("127.0.0.1")));
  const std::vector<Cidr> blocks = {Block("192.0.2.0/24"),
                                    Block("2001:db8::/32")};
  EXPECT_TRUE(AnyContains(blocks, Ip("192.0.2.55")));
  EXPECT_TRUE(AnyContains(blocks, Ip("2001:db8::55")));
  EXPECT_FALSE(AnyContains(blocks, Ip("198.51.100.1")));
}

TEST(DefaultPrivateNetworksTest, AreCanonicalAndCoverTheNamedRanges) {
  std::vector<Cidr> blocks;
  for (std::string_view text : DefaultPrivateNetworks()) {
    EXPECT_EQ(Canonical(text), text);
    blocks.push_back(Block(text));
  }
  EXPECT_EQ(blocks.size(), 9u);
  for (std::string_view inside :
       {"127.0.0.1", "127.255.255.254", "10.0.0.1", "10.255.255.255",
        "172.16.0.1", "172.31.255.255", "192.168.0.1", "192.168.255.255",
        "100.64.0.1", "100.127.255.255", "169.254.1.1", "::1",
        "::ffff:127.0.0.1", "::ffff:10.1.1.1", "fc00::1", "fdff::1",
        "fe80::1", "febf::1"}) {
    EXPECT_TRUE(AnyContains(blocks, Ip(inside))) << inside;
  }
  for (std::string_view outside :
       {"8.8.8.8", "172.15.255.255", "172.32.0.0", "192.169.0.1",
        "100.63.255.255", "100.128.0.0", "169.253.255.255", "11.0.0.0",
        "::", "::2", "2001:db8::1", "fec0::1", "fbff::1", "ff02::1",
        "::ffff:8.8.8.8", "0.0.0.0", "255.255.255.255"}) {
    EXPECT_FALSE(AnyContains(blocks, Ip(outside))) << outside;
  }
}

}  // namespace
}  // namespace keywarden
