// A KMIP load generator: N persistent TLS connections (client certificate),
// each sending the same Encrypt request (32 bytes, AES-256-GCM, 16-byte tag,
// IV chosen by the server) back to back for S seconds, as a storage array
// or a database's KMIP client would. Driven by bench/kmip-load.sh, which
// starts the server and creates the key.
//
//   kmip_load --port P --cert PEM --key PEM --uid ID
//             [--host 127.0.0.1] [--ca PEM] [--connections 8] [--threads 1]
//             [--seconds 10] [--warmup 1] [--version 1.4] [--server-pid PID]
//
// The request is built once with the project's TTLV encoder (api/kmip/ttlv.h)
// and the same bytes are sent each time. Every response is framed by its
// TTLV header and its Batch Item's Result Status is checked (KMIP 1.4 §6.9):
// anything but Success, or a response that does not parse, is a failure.
// The first response is decoded in full with the project's decoder and must
// carry 32 bytes of ciphertext, a 16-byte tag and an IV.
//
// Each --threads thread drives its share of the connections with epoll and
// non-blocking OpenSSL, so one thread can keep many connections busy
// without a context switch per request. Latency is from the first byte
// written to the last byte of the response read. Output, one line:
//
//   kmip_load: connections N ops K ops_per_s R p50_ms A p99_ms B max_ms C
//     failures F server_cpu_us_per_op S client_cpu_us_per_op L
//
// (server_cpu -1 without --server-pid). Exits 1 when anything failed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "keywarden/api/kmip/tags.h"
#include "keywarden/api/kmip/ttlv.h"

namespace {

namespace kmip = keywarden::api::kmip;
using kmip::Item;
using kmip::Tag;
using Clock = std::chrono::steady_clock;

// CPU time (user + system) of a process so far, in microseconds.
double CpuUs(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  // Fields 14 and 15, counted after the ")" that ends the command name.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) * 1e6 / sysconf(_SC_CLK_TCK);
}

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// KMIP 1.4 §4.29 Encrypt: Unique Identifier, Cryptographic Parameters
// (§3.6: Block Cipher Mode, Cryptographic Algorithm, Tag Length in that
// order), Data. No IV: the server picks one.
std::optional<std::string> EncryptRequest(const std::string& uid, int major,
                                          int minor) {
  Item cp = Item::Structure(Tag::kCryptographicParameters);
  cp.Add(Item::Enum(Tag::kBlockCipherMode, kmip::BlockCipherMode::kGcm));
  cp.Add(Item::Enum(Tag::kCryptographicAlgorithm,
                    kmip::CryptographicAlgorithm::kAes));
  cp.Add(Item::Integer(Tag::kTagLength, 16));
  std::string data(32, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i);
  Item payload = Item::Structure(Tag::kRequestPayload);
  payload.Add(Item::TextString(Tag::kUniqueIdentifier, uid));
  payload.Add(std::move(cp));
  payload.Add(Item::ByteString(Tag::kData, data));
  Item version = Item::Structure(Tag::kProtocolVersion);
  version.Add(Item::Integer(Tag::kProtocolVersionMajor, major));
  version.Add(Item::Integer(Tag::kProtocolVersionMinor, minor));
  Item header = Item::Structure(Tag::kRequestHeader);
  header.Add(std::move(version));
  header.Add(Item::Integer(Tag::kBatchCount, 1));
  Item batch = Item::Structure(Tag::kBatchItem);
  batch.Add(Item::Enum(Tag::kOperation, kmip::Operation::kEncrypt));
  batch.Add(std::move(payload));
  Item message = Item::Structure(Tag::kRequestMessage);
  message.Add(std::move(header));
  message.Add(std::move(batch));
  absl::StatusOr<std::string> bytes = kmip::EncodeTtlv(message);
  if (!bytes.ok()) return std::nullopt;
  return *std::move(bytes);
}

uint32_t Be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | p[3];
}

// Walks the children of the structure at `p` (header included) for `tag`;
// returns its offset in [p, p+size) or nullopt. No allocation: this runs
// once per response.
std::optional<size_t> FindChild(const uint8_t* p, size_t size, Tag tag) {
  if (size < 8) return std::nullopt;
  const size_t end = 8 + size_t{Be32(p + 4)};
  if (end > size) return std::nullopt;
  const uint32_t want = static_cast<uint32_t>(tag);
  for (size_t off = 8; off + 8 <= end;) {
    const uint32_t t = (uint32_t{p[off]} << 16) | (uint32_t{p[off + 1]} << 8) |
                       p[off + 2];
    const size_t len = Be32(p + off + 4);
    if (t == want) return off;
    off += 8 + (len + 7) / 8 * 8;
  }
  return std::nullopt;
}

// Response Message > Batch Item > Result Status (an Enumeration).
std::optional<uint32_t> ResultStatus(const uint8_t* p, size_t size) {
  std::optional<size_t> batch = FindChild(p, size, Tag::kBatchItem);
  if (!batch) return std::nullopt;
  const uint8_t* b = p + *batch;
  std::optional<size_t> status = FindChild(b, size - *batch, Tag::kResultStatus);
  if (!status || *batch + *status + 16 > size) return std::nullopt;
  return Be32(b + *status + 8);
}

// The first response, decoded in full: Success, and the Encrypt answer's
// shape (32 bytes of ciphertext, a 16-byte tag, an IV).
bool CheckFirstResponse(const std::string& bytes) {
  absl::StatusOr<Item> m = kmip::DecodeTtlv(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!m.ok()) {
    std::fprintf(stderr, "kmip_load: response does not decode: %s\n",
                 std::string(m.status().message()).c_str());
    return false;
  }
  const Item* batch = m->Find(Tag::kBatchItem);
  const Item* status = batch ? batch->Find(Tag::kResultStatus) : nullptr;
  if (status == nullptr ||
      status->int_value() != static_cast<int64_t>(kmip::ResultStatus::kSuccess)) {
    std::fprintf(stderr, "kmip_load: Encrypt failed:\n%s\n",
                 kmip::DebugString(*m).c_str());
    return false;
  }
  const Item* payload = batch->Find(Tag::kResponsePayload);
  const Item* data = payload ? payload->Find(Tag::kData) : nullptr;
  const Item* iv = payload ? payload->Find(Tag::kIvCounterNonce) : nullptr;
  const Item* tag =
      payload ? payload->Find(Tag::kAuthenticatedEncryptionTag) : nullptr;
  if (data == nullptr || data->bytes().size() != 32 || iv == nullptr ||
      tag == nullptr || tag->bytes().size() != 16) {
    std::fprintf(stderr, "kmip_load: unexpected Encrypt answer:\n%s\n",
                 kmip::DebugString(*m).c_str());
    return false;
  }
  return true;
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string cert, key, ca, uid;
  int connections = 8;
  int threads = 1;
  double seconds = 10;
  double warmup = 1;
  int major = 1, minor = 4;
  pid_t server_pid = 0;
};

struct Connection {
  int fd = -1;
  SSL* ssl = nullptr;
  size_t written = 0;  // bytes of the request written so far
  std::string in;      // the response read so far
  size_t want = 0;     // the response's size once its header is in
  Clock::time_point sent;
  bool sending = true;
  bool done = false;    // answered its last request after the end
  bool failed = false;  // a TLS or socket error, or closed by the server
  ~Connection() {
    if (ssl != nullptr) SSL_free(ssl);
    if (fd >= 0) close(fd);
  }
};

// Connects and finishes the TLS handshake (blocking), then makes the socket
// non-blocking for the load.
bool Connect(const Options& o, SSL_CTX* ctx, Connection& c) {
  c.fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "kmip_load: --host must be an IPv4 address\n");
    return false;
  }
  if (connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("kmip_load: connect");
    return false;
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c.ssl = SSL_new(ctx);
  SSL_set_fd(c.ssl, c.fd);
  if (SSL_connect(c.ssl) != 1) {
    std::fprintf(stderr, "kmip_load: TLS handshake: %s\n", OpenSslError().c_str());
    return false;
  }
  int flags = fcntl(c.fd, F_GETFL);
  fcntl(c.fd, F_SETFL, flags | O_NONBLOCK);
  return true;
}

struct Stats {
  std::vector<uint32_t> latency_ns;  // of the measured window's requests
  long failures = 0;
};

// Drives `conns` until `end`, then lets in-flight requests finish (or
// `end + 5 s`). Requests sent at or after `measure_from` and answered by
// `end` are counted.
void Drive(std::vector<Connection*> conns, const std::string& request,
           Clock::time_point measure_from, Clock::time_point end,
           Stats& stats) {
  int ep = epoll_create1(0);
  for (size_t i = 0; i < conns.size(); ++i) {
    epoll_event ev{};
    // Edge-triggered: step() always runs until OpenSSL would block.
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i]->fd, &ev);
  }
  size_t open = conns.size();
  const Clock::time_point hard_end = end + std::chrono::seconds(5);

  // Advances one connection as far as it goes without blocking.
  auto step = [&](Connection& c, Clock::time_point now) {
    for (;;) {
      if (c.sending) {
        if (c.written == 0) c.sent = now;
        int n = SSL_write(c.ssl, request.data() + c.written,
                          static_cast<int>(request.size() - c.written));
        if (n <= 0) {
          int err = SSL_get_error(c.ssl, n);
          if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
          c.failed = true;
          return;
        }
        c.written += static_cast<size_t>(n);
        if (c.written < request.size()) continue;
        c.sending = false;
        c.in.clear();
        c.want = 0;
      }
      char buf[16384];
      int n = SSL_read(c.ssl, buf, sizeof buf);
      if (n <= 0) {
        int err = SSL_get_error(c.ssl, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
        c.failed = true;
        return;
      }
      c.in.append(buf, static_cast<size_t>(n));
      if (c.want == 0 && c.in.size() >= 8) {
        c.want = 8 + size_t{Be32(reinterpret_cast<const uint8_t*>(c.in.data()) + 4)};
      }
      if (c.want == 0 || c.in.size() < c.want) continue;
      // One whole response (one request is in flight, so no more follows).
      now = Clock::now();
      const auto* p = reinterpret_cast<const uint8_t*>(c.in.data());
      std::optional<uint32_t> status = ResultStatus(p, c.want);
      const bool ok =
          status == static_cast<uint32_t>(kmip::ResultStatus::kSuccess) &&
          c.in.size() == c.want;
      if (c.sent >= measure_from && now <= end) {
        if (ok) {
          stats.latency_ns.push_back(static_cast<uint32_t>(std::min<int64_t>(
              UINT32_MAX,
              std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.sent)
                  .count())));
        } else {
          ++stats.failures;
        }
      } else if (!ok) {
        ++stats.failures;
      }
      if (now >= end) {
        c.done = true;  // the socket closes with the connection
        return;
      }
      c.sending = true;
      c.written = 0;
    }
  };

  std::vector<bool> active(conns.size(), true);
  auto retire = [&](size_t i) {
    if (!active[i] || !(conns[i]->done || conns[i]->failed)) return;
    epoll_ctl(ep, EPOLL_CTL_DEL, conns[i]->fd, nullptr);
    active[i] = false;
    --open;
  };
  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < conns.size(); ++i) {
    step(*conns[i], start);
    retire(i);
  }
  std::vector<epoll_event> events(conns.size());
  while (open > 0 && Clock::now() < hard_end) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    const Clock::time_point t = Clock::now();
    for (int k = 0; k < n; ++k) {
      const size_t i = events[k].data.u64;
      if (!active[i]) continue;
      step(*conns[i], t);
      retire(i);
    }
  }
  // Lost mid-run (closed by the server, a TLS error) or unanswered at the
  // hard end.
  for (Connection* c : conns) {
    if (c->failed || !c->done) ++stats.failures;
  }
  close(ep);
}

bool ParseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], v = argv[i + 1];
    if (flag == "--host") o.host = v;
    else if (flag == "--port") o.port = std::atoi(v.c_str());
    else if (flag == "--cert") o.cert = v;
    else if (flag == "--key") o.key = v;
    else if (flag == "--ca") o.ca = v;
    else if (flag == "--uid") o.uid = v;
    else if (flag == "--connections") o.connections = std::atoi(v.c_str());
    else if (flag == "--threads") o.threads = std::atoi(v.c_str());
    else if (flag == "--seconds") o.seconds = std::atof(v.c_str());
    else if (flag == "--warmup") o.warmup = std::atof(v.c_str());
    else if (flag == "--server-pid") o.server_pid = std::atoi(v.c_str());
    else if (flag == "--version") {
      if (std::sscanf(v.c_str(), "%d.%d", &o.major, &o.minor) != 2) return false;
    } else {
      std::fprintf(stderr, "kmip_load: unknown flag %s\n", flag.c_str());
      return false;
    }
  }
  return argc % 2 == 1 && o.port > 0 && o.port < 65536 && !o.cert.empty() &&
         !o.key.empty() && !o.uid.empty() && o.connections >= 1 &&
         o.threads >= 1 && o.threads <= o.connections && o.seconds > 0 &&
         o.warmup >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: kmip_load --port P --cert PEM --key PEM --uid ID "
                 "[--host IP] [--ca PEM] [--connections N] [--threads T<=N] "
                 "[--seconds S] [--warmup S] [--version 1.4] "
                 "[--server-pid PID]\n");
    return 2;
  }
  std::optional<std::string> request = EncryptRequest(o.uid, o.major, o.minor);
  if (!request) {
    std::fprintf(stderr, "kmip_load: cannot encode the request\n");
    return 2;
  }

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, o.cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, o.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::fprintf(stderr, "kmip_load: client certificate: %s\n",
                 OpenSslError().c_str());
    return 2;
  }
  if (!o.ca.empty()) {
    // The server's certificate is checked against --ca (no host name check:
    // the bench talks to 127.0.0.1).
    if (SSL_CTX_load_verify_locations(ctx, o.ca.c_str(), nullptr) != 1) {
      std::fprintf(stderr, "kmip_load: --ca: %s\n", OpenSslError().c_str());
      return 2;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }

  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < o.connections; ++i) {
    conns.push_back(std::make_unique<Connection>());
    if (!Connect(o, ctx, *conns.back())) return 1;
  }
  // One blocking round trip first, decoded in full.
  {
    Connection& c = *conns[0];
    // Blocking I/O for the probe: write, then read until the whole answer.
    int flags = fcntl(c.fd, F_GETFL);
    fcntl(c.fd, F_SETFL, flags & ~O_NONBLOCK);
    std::string answer;
    bool ok = SSL_write(c.ssl, request->data(), static_cast<int>(request->size())) ==
              static_cast<int>(request->size());
    size_t want = 0;
    while (ok && (want == 0 || answer.size() < want)) {
      char buf[4096];
      int n = SSL_read(c.ssl, buf, sizeof buf);
      if (n <= 0) { ok = false; break; }
      answer.append(buf, static_cast<size_t>(n));
      if (want == 0 && answer.size() >= 8) {
        want = 8 + size_t{Be32(reinterpret_cast<const uint8_t*>(answer.data()) + 4)};
      }
    }
    fcntl(c.fd, F_SETFL, flags);
    if (!ok || answer.size() != want || !CheckFirstResponse(answer)) {
      std::fprintf(stderr, "kmip_load: the first Encrypt did not succeed\n");
      return 1;
    }
  }

  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_from =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(o.warmup));
  const Clock::time_point end =
      measure_from + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(o.seconds));
  std::vector<Stats> stats(static_cast<size_t>(o.threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < o.threads; ++t) {
    std::vector<Connection*> mine;
    for (int i = t; i < o.connections; i += o.threads) {
      mine.push_back(conns[static_cast<size_t>(i)].get());
    }
    pool.emplace_back(Drive, std::move(mine), std::cref(*request), measure_from,
                      end, std::ref(stats[static_cast<size_t>(t)]));
  }
  // The CPU counters bracket the measured window (the main thread sleeps).
  std::this_thread::sleep_until(measure_from);
  const double server0 = o.server_pid > 0 ? CpuUs(o.server_pid) : 0;
  const double client0 = CpuUs(getpid());
  std::this_thread::sleep_until(end);
  const double server1 = o.server_pid > 0 ? CpuUs(o.server_pid) : 0;
  const double client1 = CpuUs(getpid());
  for (std::thread& t : pool) t.join();

  std::vector<uint32_t> all;
  long failures = 0;
  for (Stats& s : stats) {
    all.insert(all.end(), s.latency_ns.begin(), s.latency_ns.end());
    failures += s.failures;
  }
  std::sort(all.begin(), all.end());
  const double ops = static_cast<double>(all.size());
  auto ms = [&](size_t i) { return all.empty() ? 0.0 : all[i] / 1e6; };
  const size_t n = all.size();
  std::printf(
      "kmip_load: connections %d ops %zu ops_per_s %.0f p50_ms %.3f "
      "p99_ms %.3f max_ms %.3f failures %ld server_cpu_us_per_op %.2f "
      "client_cpu_us_per_op %.2f\n",
      o.connections, n, ops / o.seconds, ms(n / 2),
      ms(n == 0 ? 0 : std::min(n - 1, n * 99 / 100)), ms(n == 0 ? 0 : n - 1),
      failures,
      o.server_pid > 0 && n > 0 ? (server1 - server0) / ops : -1.0,
      n > 0 ? (client1 - client0) / ops : -1.0);
  conns.clear();
  SSL_CTX_free(ctx);
  return failures == 0 && n > 0 ? 0 : 1;
}
