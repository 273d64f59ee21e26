#include "keywarden/api/kmip/server.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "keywarden/api/kmip/memory_backend_for_testing.h"
#include "keywarden/api/kmip/protocol.h"

namespace keywarden::api::kmip {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

// A self-signed EC P-256 certificate made with OpenSSL's API.
struct Credential {
  std::string cert_pem, key_pem, der;
};

Credential MakeCredential(const std::string& cn, long not_before_s = -3600,
                          long not_after_s = 3600) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(x), not_after_s);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  X509_sign(x, key, EVP_sha256());
  Credential c;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  c.cert_pem.assign(p, static_cast<size_t>(n));
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  n = BIO_get_mem_data(b, &p);
  c.key_pem.assign(p, static_cast<size_t>(n));
  BIO_free(b);
  int len = i2d_X509(x, nullptr);
  c.der.resize(static_cast<size_t>(len));
  auto* out = reinterpret_cast<unsigned char*>(c.der.data());
  i2d_X509(x, &out);
  X509_free(x);
  EVP_PKEY_free(key);
  return c;
}

std::string Sha256(const std::string& data) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

// A blocking TLS client.
class Client {
 public:
  Client(uint16_t port, const Credential* cred, int max_version = 0)
      : ctx_(ssl::context::tls_client), stream_(io_, ctx_) {
    ctx_.set_verify_mode(ssl::verify_none);
    if (max_version != 0) SSL_CTX_set_max_proto_version(ctx_.native_handle(), max_version);
    if (cred != nullptr) {
      ctx_.use_certificate(net::buffer(cred->cert_pem), ssl::context::pem);
      ctx_.use_private_key(net::buffer(cred->key_pem), ssl::context::pem);
    }
    stream_.~stream();
    new (&stream_) ssl::stream<tcp::socket>(io_, ctx_);
    tcp::resolver resolver(io_);
    net::connect(stream_.next_layer(), resolver.resolve("127.0.0.1", std::to_string(port)));
  }

  boost::system::error_code Handshake() {
    boost::system::error_code ec;
    stream_.handshake(ssl::stream_base::client, ec);
    return ec;
  }

  void Write(const std::string& bytes) { net::write(stream_, net::buffer(bytes)); }

  // Reads one message; nullopt when the server closed the connection.
  std::optional<std::string> Read() {
    std::string header(8, '\0');
    boost::system::error_code ec;
    net::read(stream_, net::buffer(header), ec);
    if (ec) return std::nullopt;
    auto size = TtlvMessageSize({reinterpret_cast<const uint8_t*>(header.data()), 8});
    if (!size.ok()) return std::nullopt;
    std::string body(*size - 8, '\0');
    net::read(stream_, net::buffer(body), ec);
    if (ec) return std::nullopt;
    return header + body;
  }

  std::optional<std::string> Exchange(const std::string& bytes) {
    Write(bytes);
    return Read();
  }

 private:
  net::io_context io_;
  ssl::context ctx_;
  ssl::stream<tcp::socket> stream_;
};

std::string DiscoverVersions(ProtocolVersion v) {
  Item msg = Item::Structure(
      Tag::kRequestMessage,
      {Item::Structure(Tag::kRequestHeader,
                       {Item::Structure(Tag::kProtocolVersion,
                                        {Item::Integer(Tag::kProtocolVersionMajor, v.major),
                                         Item::Integer(Tag::kProtocolVersionMinor, v.minor)}),
                        Item::Integer(Tag::kBatchCount, 1)}),
       Item::Structure(Tag::kBatchItem,
                       {Item::Enum(Tag::kOperation, Operation::kDiscoverVersions),
                        Item::Structure(Tag::kRequestPayload)})});
  return *EncodeTtlv(msg);
}

int SuccessCount(const std::string& response) {
  auto item = DecodeTtlv({reinterpret_cast<const uint8_t*>(response.data()), response.size()});
  if (!item.ok()) return -1;
  int n = 0;
  for (const Item* b : item->FindAll(Tag::kBatchItem)) {
    n += b->Find(Tag::kResultStatus)->int_value() == 0 ? 1 : 0;
  }
  return n;
}

class KmipServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kmip_server_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Credential server = MakeCredential("localhost");
    std::ofstream(dir_ / "server.pem") << server.cert_pem;
    std::ofstream(dir_ / "server.key") << server.key_pem;
    std::filesystem::permissions(dir_ / "server.key", std::filesystem::perms::owner_read |
                                                          std::filesystem::perms::owner_write);
    alice_ = MakeCredential("alice");
    bob_ = MakeCredential("bob");
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Before answering a message for which `hold_` returns true, the handler
  // signals `held_` and waits for `release_`.
  void StartServer(KmipServerOptions options = {}, int threads = 2) {
    options.tls_cert_file = dir_ / "server.pem";
    options.tls_key_file = dir_ / "server.key";
    options.threads = threads;
    auto server = KmipServer::Start(options, [this](std::span<const uint8_t> msg,
                                                    const KmipPeer& peer) {
      {
        absl::MutexLock lock(&mu_);
        last_peer_ = peer;
        ++requests_;
      }
      if (hold_ && hold_(msg)) {
        held_.Notify();
        release_.WaitForNotification();
      }
      KmipClient client{peer.certificate_der, peer.certificate_sha256};
      return protocol_.Process(msg, client);
    });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::filesystem::path dir_;
  Credential alice_, bob_;
  FakeClock clock_;
  MemoryBackendForTesting backend_{clock_};
  KmipProtocol protocol_{backend_, backend_, clock_};
  std::unique_ptr<KmipServer> server_;
  std::function<bool(std::span<const uint8_t>)> hold_;
  absl::Notification held_, release_;
  absl::Mutex mu_;
  KmipPeer last_peer_;
  int requests_ = 0;
};

TEST_F(KmipServerTest, SeveralRequestsOnOneConnectionWithThePeersCertificate) {
  StartServer();
  Client c(server_->port(), &alice_);
  ASSERT_FALSE(c.Handshake());
  for (ProtocolVersion v : {ProtocolVersion{1, 2}, {1, 4}, {2, 0}}) {
    auto response = c.Exchange(DiscoverVersions(v));
    ASSERT_TRUE(response);
    EXPECT_EQ(SuccessCount(*response), 1);
  }
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(requests_, 3);
  EXPECT_EQ(last_peer_.certificate_der, alice_.der);
  EXPECT_EQ(last_peer_.certificate_sha256, Sha256(alice_.der));
  EXPECT_EQ(last_peer_.address, "127.0.0.1");
}

TEST_F(KmipServerTest, AMessageArrivingByteByByteIsServed) {
  StartServer();
  Client c(server_->port(), &alice_);
  ASSERT_FALSE(c.Handshake());
  std::string msg = DiscoverVersions({1, 4});
  for (char ch : msg) c.Write(std::string(1, ch));
  auto response = c.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(SuccessCount(*response), 1);
}

TEST_F(KmipServerTest, NoClientCertificateGetsNoAnswer) {
  StartServer();
  Client c(server_->port(), nullptr);
  if (!c.Handshake()) {  // TLS 1.3: the refusal arrives after the client's side
    boost::system::error_code ec;
    c.Write(DiscoverVersions({1, 4}));
    EXPECT_FALSE(c.Read());
  }
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(requests_, 0);
}

TEST_F(KmipServerTest, ARefusedOrExpiredCertificateGetsNoAnswer) {
  KmipServerOptions options;
  std::string alice_sha = Sha256(alice_.der);
  options.accept_certificate = [alice_sha](std::string_view, std::string_view sha) {
    return sha == alice_sha;
  };
  StartServer(options);
  Credential expired = MakeCredential("alice-old", -7200, -3600);
  for (const Credential* cred : {&bob_, &expired}) {
    Client c(server_->port(), cred);
    if (!c.Handshake()) {
      try {
        c.Write(DiscoverVersions({1, 4}));
      } catch (const std::exception&) {
      }
      EXPECT_FALSE(c.Read());
    }
  }
  Client ok(server_->port(), &alice_);
  ASSERT_FALSE(ok.Handshake());
  EXPECT_TRUE(ok.Exchange(DiscoverVersions({1, 4})));
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(requests_, 1);
}

TEST_F(KmipServerTest, Tls11IsRefused) {
  StartServer();
  Client c(server_->port(), &alice_, TLS1_1_VERSION);
  EXPECT_TRUE(c.Handshake());
}

TEST_F(KmipServerTest, AnOversizedOrNonMessageHeaderClosesTheConnection) {
  KmipServerOptions options;
  options.max_message_bytes = 1024;
  StartServer(options);
  const std::string headers[] = {
      std::string("\x42\x00\x78\x01\x00\x00\x04\x00", 8),  // 1032 bytes > 1024
      std::string("\x42\x00\x78\x02\x00\x00\x00\x04", 8),  // an Integer
      std::string("GET / HTTP/1.1\r\n\r\n"),
  };
  for (const std::string& h : headers) {
    Client c(server_->port(), &alice_);
    ASSERT_FALSE(c.Handshake());
    c.Write(h);
    EXPECT_FALSE(c.Read());
  }
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(requests_, 0);
}

TEST_F(KmipServerTest, MalformedTtlvInsideAFrameGetsAnInvalidMessageAnswer) {
  StartServer();
  Client c(server_->port(), &alice_);
  ASSERT_FALSE(c.Handshake());
  // A well-framed structure holding an Integer with non-zero padding.
  std::string bad("\x42\x00\x78\x01\x00\x00\x00\x10\x42\x00\x0D\x02\x00\x00\x00\x04"
                  "\x00\x00\x00\x01\x00\x00\x00\x01", 24);
  auto response = c.Exchange(bad);
  ASSERT_TRUE(response);
  auto item = DecodeTtlv({reinterpret_cast<const uint8_t*>(response->data()), response->size()});
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->Find(Tag::kBatchItem)->Find(Tag::kResultReason)->int_value(),
            static_cast<int>(ResultReason::kInvalidMessage));
  EXPECT_TRUE(c.Exchange(DiscoverVersions({1, 4})));  // the connection lives on
}

TEST_F(KmipServerTest, AQuietConnectionIsClosedAfterTheIdleTimeout) {
  KmipServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(100);
  StartServer(options);
  Client c(server_->port(), &alice_);
  ASSERT_FALSE(c.Handshake());
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(c.Read());  // blocks until the server closes
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(KmipServerTest, AHalfSentMessageIsClosedAfterTheReadTimeout) {
  KmipServerOptions options;
  options.read_timeout = std::chrono::milliseconds(200);
  StartServer(options);
  Client c(server_->port(), &alice_);
  ASSERT_FALSE(c.Handshake());
  c.Write(DiscoverVersions({1, 4}).substr(0, 20));
  EXPECT_FALSE(c.Read());
}

TEST_F(KmipServerTest, StopClosesOpenConnections) {
  StartServer();
  Client c(server_->port(), &alice_);
  ASSERT_FALSE(c.Handshake());
  ASSERT_TRUE(c.Exchange(DiscoverVersions({1, 4})));
  server_->Stop();
  EXPECT_FALSE(c.Read());
  EXPECT_EQ(server_->connection_count(), 0u);
}

std::string CreateKeyPairRequest() {
  Item msg = Item::Structure(
      Tag::kRequestMessage,
      {Item::Structure(Tag::kRequestHeader,
                       {Item::Structure(Tag::kProtocolVersion,
                                        {Item::Integer(Tag::kProtocolVersionMajor, 1),
                                         Item::Integer(Tag::kProtocolVersionMinor, 4)}),
                        Item::Integer(Tag::kBatchCount, 1)}),
       Item::Structure(Tag::kBatchItem,
                       {Item::Enum(Tag::kOperation, Operation::kCreateKeyPair),
                        Item::Structure(Tag::kRequestPayload)})});
  return *EncodeTtlv(msg);
}

TEST_F(KmipServerTest, AnOffloadedHandlerDoesNotHoldItsIoThread) {
  KmipServerOptions options;
  options.offload = MayBeSlow;
  hold_ = MayBeSlow;
  StartServer(options, /*threads=*/1);
  Client slow(server_->port(), &alice_);
  Client quick(server_->port(), &bob_);
  ASSERT_FALSE(slow.Handshake());
  ASSERT_FALSE(quick.Handshake());
  slow.Write(CreateKeyPairRequest());
  held_.WaitForNotification();  // the slow handler runs on the pool now
  // The only I/O thread still serves the other connection.
  auto quick_answer = quick.Exchange(DiscoverVersions({1, 4}));
  ASSERT_TRUE(quick_answer);
  EXPECT_EQ(SuccessCount(*quick_answer), 1);
  release_.Notify();
  auto slow_answer = slow.Read();
  ASSERT_TRUE(slow_answer);  // the test backend has no key pairs: a failure answer
  EXPECT_EQ(SuccessCount(*slow_answer), 0);
}

TEST(MayBeSlowTest, PicksCreateKeyPairOnly) {
  std::string slow = CreateKeyPairRequest();
  std::string quick = DiscoverVersions({1, 4});
  EXPECT_TRUE(MayBeSlow({reinterpret_cast<const uint8_t*>(slow.data()), slow.size()}));
  EXPECT_FALSE(MayBeSlow({reinterpret_cast<const uint8_t*>(quick.data()), quick.size()}));
  EXPECT_FALSE(MayBeSlow({}));
}

TEST_F(KmipServerTest, StartRefusesMissingTlsFiles) {
  KmipServerOptions options;
  EXPECT_FALSE(KmipServer::Start(options, [](auto, auto&) { return std::string(); }).ok());
  options.tls_cert_file = dir_ / "nope.pem";
  options.tls_key_file = dir_ / "server.key";
  EXPECT_FALSE(KmipServer::Start(options, [](auto, auto&) { return std::string(); }).ok());
}

}  // namespace
}  // namespace keywarden::api::kmip
