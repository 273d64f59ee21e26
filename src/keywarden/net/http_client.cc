// The only file of the client that speaks Boost.Beast and Asio.
//
// Send() makes each request on a fresh connection (a webhook sends one per
// event); HttpClient keeps connections alive for the typed client, whose
// callers (the KMS plugin, the CLI's loops) send many. One deadline bounds
// the whole request: name resolution waits for it on a
// thread of its own, then beast::tcp_stream's expiry covers connect, TLS
// handshake, write and read, with the operations run one at a time on a
// private io_context, which keeps the code sequential like the synchronous
// API while still bounded in time.
#include "keywarden/net/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <optional>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>

#include "absl/status/status.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string HostPort(const Endpoint& e) {
  const bool v6 = e.host.find(':') != std::string::npos;
  return StrCat(v6 ? "[" : "", e.host, v6 ? "]" : "", ":", e.port);
}

// Starts `op` with a completion handler that records the error code, then
// runs the io_context until that operation (and only it) has completed. The
// stream's expiry turns a stalled operation into beast::error::timeout.
template <typename Op>
beast::error_code Await(asio::io_context& ioc, Op op) {
  beast::error_code result;
  op([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

absl::Status TransportError(const Endpoint& e, std::string_view what,
                            const beast::error_code& ec) {
  if (ec == beast::error::timeout) {
    return absl::DeadlineExceededError(
        StrCat(what, " ", e.Display(), ": timed out"));
  }
  return absl::UnavailableError(
      StrCat(what, " ", e.Display(), ": ", ec.message()));
}

// How an exchange ended, for the keep-alive pool: whether the connection may
// carry another request, and whether the failure (if any) came before any
// byte of the response (a kept connection the server had closed).
struct ExchangeOutcome {
  bool reusable = false;
  bool nothing_received = false;
};

// Writes the request and reads the response on a connected (and, for TLS,
// handshaken) stream whose expiry the caller has set.
template <typename Stream>
absl::StatusOr<HttpResponse> Exchange(asio::io_context& ioc, Stream& stream,
                                      beast::flat_buffer& buffer,
                                      const Endpoint& e,
                                      const HttpRequest& request,
                                      const HttpOptions& options,
                                      bool keep_alive,
                                      ExchangeOutcome& outcome) {
  http::request<http::string_body> req;
  req.method_string(request.method);
  req.target(e.prefix + request.target);
  req.version(11);
  req.set(http::field::host, HostPort(e));
  req.set(http::field::user_agent, options.user_agent);
  req.set(http::field::connection, keep_alive ? "keep-alive" : "close");
  for (const auto& [name, value] : request.headers) req.set(name, value);
  if (!request.body.empty() || request.method == "POST" ||
      request.method == "PUT") {
    req.body() = request.body;
    req.prepare_payload();
  }

  outcome.nothing_received = true;
  if (auto ec = Await(ioc, [&](auto handler) {
        http::async_write(stream, req, std::move(handler));
      })) {
    return TransportError(e, "sending the request to", ec);
  }

  http::response_parser<http::string_body> parser;
  parser.body_limit(options.max_body_bytes);
  if (auto ec = Await(ioc, [&](auto handler) {
        http::async_read(stream, buffer, parser, std::move(handler));
      })) {
    outcome.nothing_received = !parser.got_some();
    return TransportError(e, "reading the response of", ec);
  }
  outcome.nothing_received = false;
  HttpResponse out;
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    out.headers.emplace_back(std::string(field.name_string()),
                             std::string(field.value()));
  }
  outcome.reusable = keep_alive && res.keep_alive() && buffer.size() == 0;
  out.body = std::move(res.body());
  return out;
}

// Resolves the endpoint's host within the deadline. getaddrinfo cannot be
// cancelled, so a name lookup runs on a thread of its own, detached when the
// deadline passes first: it finishes (bounded by the system resolver's own
// timeouts) and drops its answer. IP literals need no lookup and no thread.
absl::StatusOr<tcp::resolver::results_type> Resolve(
    const Endpoint& e, std::chrono::steady_clock::time_point deadline) {
  auto lookup = [](const std::string& host, const std::string& port,
                   tcp::resolver::flags flags, beast::error_code& ec) {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    return resolver.resolve(host, port, flags, ec);
  };
  beast::error_code ec;
  tcp::resolver::results_type results;
  if (IsIpLiteral(e.host)) {
    results = lookup(e.host, e.port,
                     tcp::resolver::numeric_host |
                         tcp::resolver::numeric_service,
                     ec);
  } else {
    struct Lookup {
      std::mutex mu;
      std::condition_variable done_cv;
      bool done = false;
      beast::error_code ec;
      tcp::resolver::results_type results;
    };
    auto state = std::make_shared<Lookup>();
    try {
      std::thread([state, host = e.host, port = e.port, lookup] {
        beast::error_code thread_ec;
        auto found = lookup(host, port, tcp::resolver::flags(), thread_ec);
        std::lock_guard<std::mutex> lock(state->mu);
        state->results = std::move(found);
        state->ec = thread_ec;
        state->done = true;
        state->done_cv.notify_all();
      }).detach();
    } catch (const std::system_error& ex) {  // no thread to be had
      return absl::UnavailableError(
          StrCat("cannot resolve ", e.Display(), ": ", ex.what()));
    }
    std::unique_lock<std::mutex> lock(state->mu);
    if (!state->done_cv.wait_until(lock, deadline,
                                   [&] { return state->done; })) {
      return absl::DeadlineExceededError(
          StrCat("cannot resolve ", e.Display(), ": timed out"));
    }
    ec = state->ec;
    results = std::move(state->results);
  }
  if (ec) return TransportError(e, "cannot resolve", ec);
  return results;
}

// Runs options.check_address over every resolved address.
absl::Status CheckResolved(const tcp::resolver::results_type& results,
                           const HttpOptions& options) {
  if (!options.check_address) return absl::OkStatus();
  for (const auto& entry : results) {
    KW_RETURN_IF_ERROR(
        options.check_address(entry.endpoint().address().to_string()));
  }
  return absl::OkStatus();
}

// Runs options.check_address over the connected peer.
absl::Status CheckPeer(const Endpoint& e, tcp::socket& socket,
                       const HttpOptions& options) {
  if (!options.check_address) return absl::OkStatus();
  beast::error_code ec;
  tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return TransportError(e, "cannot connect to", ec);
  return options.check_address(peer.address().to_string());
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ResolveAddresses(
    const Endpoint& endpoint, std::chrono::milliseconds timeout) {
  KW_ASSIGN_OR_RETURN(
      tcp::resolver::results_type results,
      Resolve(endpoint, std::chrono::steady_clock::now() + timeout));
  std::vector<std::string> out;
  for (const auto& entry : results) {
    out.push_back(entry.endpoint().address().to_string());
  }
  return out;
}

std::string Endpoint::Display() const {
  return StrCat(tls ? "https://" : "http://", HostPort(*this), prefix);
}

absl::StatusOr<Endpoint> ParseEndpoint(const std::string& addr) {
  Endpoint e;
  std::string_view rest(addr);
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    e.tls = true;
    rest.remove_prefix(8);
  } else {
    return absl::InvalidArgumentError(StrCat(
        "invalid address \"", addr, "\": expected http://HOST:PORT or https://HOST:PORT"));
  }
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        StrCat("invalid address \"", addr, "\": ", why));
  };
  if (rest.find_first_of("?#@ \t\r\n") != std::string_view::npos) {
    return bad("no user info, query, fragment or spaces allowed");
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  e.prefix = std::string(path);

  std::string_view port;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    e.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after ']'");
      port = after.substr(1);
      if (port.empty()) return bad("empty port");
    }
  } else {
    const size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      if (authority.find(':', colon + 1) != std::string_view::npos) {
        return bad("IPv6 addresses go in brackets: http://[::1]:8080");
      }
      port = authority.substr(colon + 1);
      if (port.empty()) return bad("empty port");
    }
    e.host = std::string(authority.substr(0, colon));
  }
  if (e.host.empty()) return bad("no host");
  if (port.empty()) {
    e.port = e.tls ? "443" : "80";
  } else {
    if (port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos) {
      return bad("the port must be a number");
    }
    const int n = std::atoi(std::string(port).c_str());
    if (n < 1 || n > 65535) return bad("the port must be 1-65535");
    e.port = std::to_string(n);
  }
  return e;
}

struct HttpClient::Shared {
  std::mutex mu;
  std::shared_ptr<ssl::context> tls;  // guarded by mu; built at first use
};

// One open connection: its own io_context, so that a request runs its
// operations one at a time on the calling thread (see Await), and the stream.
struct HttpClient::Connection {
  asio::io_context ioc;  // declared first: destroyed after the streams
  std::shared_ptr<ssl::context> tls_context;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;

  beast::tcp_stream& lowest() {
    return plain ? *plain : beast::get_lowest_layer(*tls);
  }

  // A kept connection is usable when nothing is waiting to be read: a
  // closed socket reads as end of file, and anything else the server sent
  // between requests (a TLS close_notify, a stray byte) is no response to a
  // request of ours either.
  bool Idle() {
    char byte;
    const ssize_t n = ::recv(lowest().socket().native_handle(), &byte, 1,
                             MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  absl::StatusOr<HttpResponse> Exchange(const Endpoint& e,
                                        const HttpRequest& request,
                                        const HttpOptions& options,
                                        std::chrono::steady_clock::time_point deadline,
                                        bool keep_alive,
                                        ExchangeOutcome& outcome) {
    lowest().expires_at(deadline);
    if (plain) {
      return keywarden::net::Exchange(ioc, *plain, buffer, e, request, options,
                                      keep_alive, outcome);
    }
    return keywarden::net::Exchange(ioc, *tls, buffer, e, request, options,
                                    keep_alive, outcome);
  }
};

namespace {

// The client TLS context: TLS 1.2 or later, peer verification against the
// CA file, or the system store, unless `insecure`.
absl::StatusOr<std::shared_ptr<ssl::context>> MakeTlsContext(
    const Endpoint& e, const HttpOptions& options) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  beast::error_code ec;
  if (options.insecure) {
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
  }
  if (!options.ca_file.empty()) {
    ctx->load_verify_file(options.ca_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          StrCat("cannot read the CA file ", options.ca_file, ": ",
                 ec.message()));
    }
  } else {
    // The system store, or SSL_CERT_FILE / SSL_CERT_DIR when set.
    ctx->set_default_verify_paths(ec);
    if (ec) return TransportError(e, "cannot load CA certificates for", ec);
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

// Opens a connection (resolve, connect, TLS handshake with host name
// verification) within the deadline.
absl::StatusOr<std::unique_ptr<HttpClient::Connection>> Connect(
    const Endpoint& e, const HttpOptions& options,
    std::shared_ptr<ssl::context> tls_context,
    std::chrono::steady_clock::time_point deadline) {
  KW_ASSIGN_OR_RETURN(tcp::resolver::results_type results,
                      Resolve(e, deadline));
  KW_RETURN_IF_ERROR(CheckResolved(results, options));
  auto c = std::make_unique<HttpClient::Connection>();
  if (!e.tls) {
    c->plain.emplace(c->ioc);
  } else {
    c->tls_context = std::move(tls_context);
    c->tls.emplace(c->ioc, *c->tls_context);
  }
  beast::tcp_stream& lowest = c->lowest();
  lowest.expires_at(deadline);
  if (auto ec = Await(c->ioc, [&](auto handler) {
        lowest.async_connect(results, std::move(handler));
      })) {
    return TransportError(e, "cannot connect to", ec);
  }
  KW_RETURN_IF_ERROR(CheckPeer(e, lowest.socket(), options));
  if (!e.tls) return c;

  SSL* ssl_handle = c->tls->native_handle();
  const bool ip = IsIpLiteral(e.host);
  if (!ip) SSL_set_tlsext_host_name(ssl_handle, e.host.c_str());
  if (!options.insecure) {
    // RFC 6125 name checks by OpenSSL itself; IP literals match IP SANs.
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
    X509_VERIFY_PARAM_set_hostflags(param,
                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, e.host.c_str())
                      : X509_VERIFY_PARAM_set1_host(param, e.host.c_str(), 0);
    if (ok != 1) {
      return absl::InternalError(
          StrCat("cannot set up host name verification for ", e.Display()));
    }
  }
  if (auto ec = Await(c->ioc, [&](auto handler) {
        c->tls->async_handshake(ssl::stream_base::client, std::move(handler));
      })) {
    const long verify = SSL_get_verify_result(ssl_handle);
    if (!options.insecure && verify != X509_V_OK) {
      std::string message =
          StrCat("TLS certificate of ", e.Display(), " not trusted: ",
                 X509_verify_cert_error_string(verify));
      if (!options.untrusted_certificate_hint.empty()) {
        StrAppend(&message, " (", options.untrusted_certificate_hint, ")");
      }
      return absl::UnavailableError(message);
    }
    return TransportError(e, "TLS handshake with", ec);
  }
  return c;
}

}  // namespace

std::string_view HttpResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (beast::iequals(n, name)) return v;
  }
  return {};
}

absl::StatusOr<HttpResponse> Send(const Endpoint& e, const HttpRequest& request,
                                  const HttpOptions& options) {
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  try {
    std::shared_ptr<ssl::context> tls_context;
    if (e.tls) {
      KW_ASSIGN_OR_RETURN(tls_context, MakeTlsContext(e, options));
    }
    KW_ASSIGN_OR_RETURN(auto c, Connect(e, options, std::move(tls_context),
                                        deadline));
    ExchangeOutcome outcome;
    return c->Exchange(e, request, options, deadline, /*keep_alive=*/false,
                       outcome);
  } catch (const std::exception& ex) {
    // Asio/Beast throw only on resource exhaustion here; keep it at the seam.
    return absl::UnavailableError(
        StrCat("request to ", e.Display(), " failed: ", ex.what()));
  }
}

HttpClient::HttpClient(Endpoint endpoint, HttpOptions options, size_t max_idle,
                       std::chrono::milliseconds max_idle_time)
    : endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      max_idle_(max_idle),
      max_idle_time_(max_idle_time),
      shared_(std::make_unique<Shared>()) {}

HttpClient::~HttpClient() = default;

size_t HttpClient::connections_opened() const {
  std::lock_guard lock(mu_);
  return opened_;
}

std::unique_ptr<HttpClient::Connection> HttpClient::TakeIdle() {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  while (!idle_.empty()) {
    std::unique_ptr<Connection> c = std::move(idle_.back());
    idle_.pop_back();
    if (now - c->idle_since < max_idle_time_ && c->Idle()) return c;
  }
  return nullptr;
}

void HttpClient::GiveBack(std::unique_ptr<Connection> c) {
  c->idle_since = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(c));
}

absl::StatusOr<HttpResponse> HttpClient::Send(const HttpRequest& request,
                                              bool idempotent) {
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  try {
    std::unique_ptr<Connection> c = TakeIdle();
    if (c != nullptr) {
      ExchangeOutcome outcome;
      auto r = c->Exchange(endpoint_, request, options_, deadline,
                           /*keep_alive=*/true, outcome);
      if (r.ok()) {
        if (outcome.reusable) GiveBack(std::move(c));
        return r;
      }
      // A kept connection that died under us: worth one fresh try when the
      // request may be repeated and the deadline has not passed.
      if (!idempotent || !outcome.nothing_received ||
          absl::IsDeadlineExceeded(r.status())) {
        return r;
      }
    }
    std::shared_ptr<ssl::context> tls_context;
    if (endpoint_.tls) {
      std::lock_guard lock(shared_->mu);
      if (shared_->tls == nullptr) {
        KW_ASSIGN_OR_RETURN(shared_->tls, MakeTlsContext(endpoint_, options_));
      }
      tls_context = shared_->tls;
    }
    KW_ASSIGN_OR_RETURN(c, Connect(endpoint_, options_, std::move(tls_context),
                                   deadline));
    {
      std::lock_guard lock(mu_);
      ++opened_;
    }
    ExchangeOutcome outcome;
    auto r = c->Exchange(endpoint_, request, options_, deadline,
                         /*keep_alive=*/true, outcome);
    if (r.ok() && outcome.reusable) GiveBack(std::move(c));
    return r;
  } catch (const std::exception& ex) {
    return absl::UnavailableError(
        StrCat("request to ", endpoint_.Display(), " failed: ", ex.what()));
  }
}

}  // namespace keywarden::net
