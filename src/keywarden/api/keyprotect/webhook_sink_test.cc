#include "keywarden/api/keyprotect/webhook_sink.h"

#include <atomic>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "keywarden/api/http/server.h"
#include "keywarden/common/errors.h"

namespace keywarden::api::keyprotect {
namespace {

using http::HttpServer;
using http::HttpServerOptions;
using http::Request;
using http::Response;
using http::HttpStatus;

// A receiver on 127.0.0.1 that counts what reaches it.
class Receiver {
 public:
  Receiver() {
    HttpServerOptions options;
    options.host = "127.0.0.1";
    options.threads = 1;
    auto s = HttpServer::Start(options, [this](const Request&, Response& res) {
      requests_.fetch_add(1);
      res.result(HttpStatus::ok);
    });
    EXPECT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/events";
  }
  int requests() const { return requests_.load(); }

 private:
  std::atomic<int> requests_{0};
  std::unique_ptr<HttpServer> server_;
};

keys::KeyEvent Event() {
  keys::KeyEvent e;
  e.id = "5b0c3c3e-0000-4000-8000-000000000001";
  e.instance_id = "5b0c3c3e-0000-4000-8000-000000000002";
  e.key_id = "5b0c3c3e-0000-4000-8000-000000000003";
  e.service_id = "svc";
  e.time = absl::FromUnixSeconds(1767225600);
  return e;
}

service::WebhookTarget Target(std::string url) {
  return {std::move(url), SecretBytes(32)};
}

TEST(CheckWebhookUrlTest, DefaultsWantHttpsAndAPublicAddress) {
  WebhookUrlPolicy strict;
  struct Case {
    const char* url;
    const char* message;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"http://203.0.113.1/x", "must use https (webhooks.allow_http is off)"},
           {"https://127.0.0.1:8443/x",
            "127.0.0.1 is a loopback address (webhooks.allow_private is off)"},
           {"https://[::1]/x", "::1 is a loopback address"},
           {"https://192.168.10.1/x", "192.168.10.1 is a private address"},
           {"https://169.254.169.254/", "169.254.169.254 is a cloud metadata address"},
           {"https://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address"},
           {"ftp://example.com/", "must be an https URL"},
       }) {
    absl::Status s = CheckWebhookUrl(c.url, strict);
    EXPECT_EQ(ReasonOf(s), Reason::kBadRequest) << c.url;
    EXPECT_NE(s.message().find(c.message), std::string::npos)
        << c.url << ": " << s.message();
  }
}

TEST(CheckWebhookUrlTest, ClosedNetworksRelaxButMetadataStaysRefused) {
  WebhookUrlPolicy relaxed{.allow_http = true, .allow_private = true};
  EXPECT_TRUE(CheckWebhookUrl("http://127.0.0.1:9/x", relaxed).ok());
  EXPECT_TRUE(CheckWebhookUrl("https://10.0.0.5/x", relaxed).ok());
  EXPECT_FALSE(CheckWebhookUrl("http://169.254.169.254/", relaxed).ok());
  // allow_http alone leaves private addresses refused.
  WebhookUrlPolicy http_only{.allow_http = true};
  absl::Status s = CheckWebhookUrl("http://127.0.0.1:9/x", http_only);
  EXPECT_NE(s.message().find("loopback"), std::string::npos) << s;
}

TEST(WebhookSinkTest, DeliveryToARefusedDestinationSendsNothing) {
  Receiver receiver;
  // As if the setting changed (or the name resolved elsewhere) after the URL
  // was registered: the sink checks again and does not connect.
  WebhookSinkOptions options;
  options.policy.allow_http = true;
  WebhookSink sink(options);
  service::EventSink::Outcome out =
      sink.Deliver(Target(receiver.url()), Event(), 1, absl::Now());
  EXPECT_FALSE(out.delivered);
  EXPECT_NE(out.error.find("127.0.0.1 is a loopback address"),
            std::string::npos)
      << out.error;
  EXPECT_EQ(receiver.requests(), 0);

  options.policy.allow_http = false;
  options.policy.allow_private = true;
  out = WebhookSink(options).Deliver(Target(receiver.url()), Event(), 1,
                                     absl::Now());
  EXPECT_FALSE(out.delivered);
  EXPECT_NE(out.error.find("must use https"), std::string::npos) << out.error;
  EXPECT_EQ(receiver.requests(), 0);
}

TEST(WebhookSinkTest, ClosedNetworkSettingsDeliver) {
  Receiver receiver;
  WebhookSinkOptions options;
  options.policy = {.allow_http = true, .allow_private = true};
  service::EventSink::Outcome out = WebhookSink(options).Deliver(
      Target(receiver.url()), Event(), 1, absl::Now());
  EXPECT_TRUE(out.delivered) << out.error;
  EXPECT_EQ(receiver.requests(), 1);
}

}  // namespace
}  // namespace keywarden::api::keyprotect
