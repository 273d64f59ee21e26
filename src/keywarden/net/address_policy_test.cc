#include "keywarden/net/address_policy.h"

#include <string>

#include "gtest/gtest.h"

namespace keywarden::net {
namespace {

TEST(ForbiddenDestinationTest, PublicAddressesPass) {
  for (const char* ip : {"93.184.216.34", "8.8.8.8", "2606:4700::1111",
                         "172.32.0.1", "100.128.0.1", "2a00:1450::1"}) {
    EXPECT_EQ(ForbiddenDestination(ip, false), "") << ip;
  }
}

TEST(ForbiddenDestinationTest, NamesWhyAnAddressIsRefused) {
  struct Case {
    const char* ip;
    std::string_view why;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"127.0.0.1", "loopback"},
           {"127.8.9.10", "loopback"},
           {"::1", "loopback"},
           {"169.254.1.1", "link-local"},
           {"fe80::1", "link-local"},
           {"10.1.2.3", "private"},
           {"172.16.0.1", "private"},
           {"172.31.255.255", "private"},
           {"192.168.1.1", "private"},
           {"100.64.0.1", "private"},
           {"fd12:3456::1", "private"},
           {"169.254.169.254", "cloud metadata"},
           {"fd00:ec2::254", "cloud metadata"},
           {"168.63.129.16", "cloud metadata"},
           {"100.100.100.200", "cloud metadata"},
           {"0.0.0.0", "unspecified"},
           {"::", "unspecified"},
           {"224.0.0.1", "multicast"},
           {"ff02::1", "multicast"},
           {"255.255.255.255", "reserved"},
           {"192.0.2.1", "reserved"},
           {"2001:db8::1", "reserved"},
           // IPv4 inside IPv6 is judged by the IPv4 address.
           {"::ffff:127.0.0.1", "loopback"},
           {"::ffff:169.254.169.254", "cloud metadata"},
           {"64:ff9b::a9fe:a9fe", "cloud metadata"},
           {"64:ff9b::a00:1", "private"},
           {"example.com", "not an IP address"},
       }) {
    EXPECT_EQ(ForbiddenDestination(c.ip, false), c.why) << c.ip;
  }
}

TEST(ForbiddenDestinationTest, AllowPrivateRelaxesAllButMetadataAndOddities) {
  for (const char* ip : {"127.0.0.1", "::1", "10.0.0.1", "192.168.0.1",
                         "169.254.1.1", "fe80::1", "fd12::1"}) {
    EXPECT_EQ(ForbiddenDestination(ip, true), "") << ip;
  }
  EXPECT_EQ(ForbiddenDestination("169.254.169.254", true), "cloud metadata");
  EXPECT_EQ(ForbiddenDestination("fd00:ec2::254", true), "cloud metadata");
  EXPECT_EQ(ForbiddenDestination("0.0.0.0", true), "unspecified");
  EXPECT_EQ(ForbiddenDestination("224.0.0.1", true), "multicast");
}

}  // namespace
}  // namespace keywarden::net
