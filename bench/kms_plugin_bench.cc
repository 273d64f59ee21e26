// Encrypt and Decrypt over the KMS plugin's Unix socket against the REST
// wrap and unwrap that the plugin calls, in the same run: throughput and
// p50/p99 latency at the same client concurrency. Driven by
// bench/kms-plugin.sh, which starts the server and the plugin.
//
//   kms_plugin_bench --socket PATH --addr URL --instance ID --key ID
//                    [--threads N] [--seconds S]
//                    [--server-pid PID] [--plugin-pid PID]
// The API key is read from $KEYWARDEN_APIKEY. With the pids, each line also
// shows the CPU time per operation of the bench itself, the plugin and the
// server (from /proc/PID/stat), which is what decides the rates when the
// three share the machine's CPUs.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "keywarden/client/key_protect.h"
#include "keywarden/client/transport.h"
#include "keywarden/crypto/random.h"
#include "keywarden/integrations/k8s_kms/kms_plugin.h"
#include "keywarden/integrations/k8s_kms/kms_v2.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using keywarden::SecretBytes;
namespace client = keywarden::client;

// CPU time (user + system) of a process so far, in microseconds; 0 when
// unknown (pid 0, or the process is gone).
double CpuUs(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  // Fields 14 and 15 (utime, stime), counted after the ")" that ends the
  // command name (which may itself hold spaces).
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) * 1e6 / sysconf(_SC_CLK_TCK);
}

struct Pids {
  pid_t bench = 0, plugin = 0, server = 0;
};

struct Result {
  double ops_per_s = 0;
  double p50_ms = 0, p99_ms = 0;
  long errors = 0;
  // CPU microseconds per successful operation; < 0 when not measured.
  double bench_us = -1, plugin_us = -1, server_us = -1;
};

// Runs `op` on `threads` threads for `seconds`; each thread records its
// latencies. A failed op counts as an error (and is not timed).
Result Measure(int threads, double seconds, const Pids& pids,
               const std::function<bool(int)>& op) {
  const double cpu0[3] = {CpuUs(pids.bench), CpuUs(pids.plugin),
                          CpuUs(pids.server)};
  std::vector<std::vector<double>> lat(threads);
  std::atomic<long> errors{0};
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      while (Clock::now() < end) {
        const auto start = Clock::now();
        const bool ok = op(t);
        const double ms =
            std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (ok) lat[t].push_back(ms); else ++errors;
      }
    });
  }
  for (auto& th : pool) th.join();
  const double cpu1[3] = {CpuUs(pids.bench), CpuUs(pids.plugin),
                          CpuUs(pids.server)};
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  Result r;
  r.errors = errors;
  if (all.empty()) return r;
  r.ops_per_s = all.size() / seconds;
  r.p50_ms = all[all.size() / 2];
  r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  const double n = static_cast<double>(all.size());
  r.bench_us = (cpu1[0] - cpu0[0]) / n;
  if (pids.plugin > 0) r.plugin_us = (cpu1[1] - cpu0[1]) / n;
  if (pids.server > 0) r.server_us = (cpu1[2] - cpu0[2]) / n;
  return r;
}

void Print(const char* name, const Result& r) {
  std::printf("%-16s %10.0f ops/s   p50 %7.3f ms   p99 %7.3f ms   errors %ld",
              name, r.ops_per_s, r.p50_ms, r.p99_ms, r.errors);
  // CPU per operation, in microseconds: bench / plugin / server.
  auto us = [](double v) {
    return v < 0 ? std::string("-") : std::to_string(static_cast<int>(v + 0.5));
  };
  std::printf("   cpu/op us bench %s plugin %s server %s\n",
              us(r.bench_us).c_str(), us(r.plugin_us).c_str(),
              us(r.server_us).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket, addr, instance, key;
  int threads = 8;
  double seconds = 5;
  Pids pids;
  pids.bench = getpid();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--socket") socket = value;
    else if (flag == "--addr") addr = value;
    else if (flag == "--instance") instance = value;
    else if (flag == "--key") key = value;
    else if (flag == "--threads") threads = std::atoi(value.c_str());
    else if (flag == "--seconds") seconds = std::atof(value.c_str());
    else if (flag == "--server-pid") pids.server = std::atoi(value.c_str());
    else if (flag == "--plugin-pid") pids.plugin = std::atoi(value.c_str());
  }
  const char* apikey = std::getenv("KEYWARDEN_APIKEY");
  if (socket.empty() || addr.empty() || instance.empty() || key.empty() ||
      apikey == nullptr || threads < 1 || seconds <= 0) {
    std::fprintf(stderr,
                 "usage: KEYWARDEN_APIKEY=… kms_plugin_bench --socket PATH "
                 "--addr URL --instance ID --key ID [--threads N] [--seconds S]\n");
    return 2;
  }
  const SecretBytes seed = keywarden::crypto::RandomSecret(32);
  const std::vector<std::string> aad = {
      std::string(keywarden::integrations::k8s_kms::kWrapAad)};

  client::TransportOptions topts;
  topts.max_idle_connections = threads;
  auto transport = client::Transport::Create(
      addr, client::Credentials{apikey, ""}, topts);
  if (!transport.ok()) {
    std::fprintf(stderr, "%s\n", std::string(transport.status().message()).c_str());
    return 1;
  }
  client::KeyProtectClient kp(**transport, instance);
  auto wdek = kp.Wrap(key, &seed, aad);
  if (!wdek.ok()) {
    std::fprintf(stderr, "wrap: %s\n", std::string(wdek.status().message()).c_str());
    return 1;
  }

  // One channel per thread, as several apiservers would have; gRPC
  // multiplexes calls on a channel anyway.
  std::vector<std::unique_ptr<v2::KeyManagementService::Stub>> stubs;
  for (int t = 0; t < threads; ++t) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", t);  // distinct channels, not one shared
    stubs.push_back(v2::KeyManagementService::NewStub(grpc::CreateCustomChannel(
        "unix://" + socket, grpc::InsecureChannelCredentials(), args)));
  }
  v2::EncryptRequest enc_req;
  enc_req.set_plaintext(std::string(reinterpret_cast<const char*>(seed.data()),
                                    seed.size()));
  v2::EncryptResponse enc;
  {
    grpc::ClientContext ctx;
    grpc::Status s = stubs[0]->Encrypt(&ctx, enc_req, &enc);
    if (!s.ok()) {
      std::fprintf(stderr, "encrypt: %s\n", s.error_message().c_str());
      return 1;
    }
  }
  v2::DecryptRequest dec_req;
  dec_req.set_ciphertext(enc.ciphertext());
  dec_req.set_key_id(enc.key_id());
  dec_req.mutable_annotations()->insert(enc.annotations().begin(),
                                        enc.annotations().end());

  std::printf("%d client threads, %.0f s per measurement\n", threads, seconds);
  const Result wrap = Measure(threads, seconds, pids, [&](int) {
    return kp.Wrap(key, &seed, aad).ok();
  });
  Print("REST wrap", wrap);
  const Result encrypt = Measure(threads, seconds, pids, [&](int t) {
    grpc::ClientContext ctx;
    v2::EncryptResponse out;
    return stubs[t]->Encrypt(&ctx, enc_req, &out).ok();
  });
  Print("plugin Encrypt", encrypt);
  const Result unwrap = Measure(threads, seconds, pids, [&](int) {
    return kp.Unwrap(key, wdek->ciphertext, aad).ok();
  });
  Print("REST unwrap", unwrap);
  const Result decrypt = Measure(threads, seconds, pids, [&](int t) {
    grpc::ClientContext ctx;
    v2::DecryptResponse out;
    return stubs[t]->Decrypt(&ctx, dec_req, &out).ok();
  });
  Print("plugin Decrypt", decrypt);
  std::printf("Encrypt/wrap %.2fx, Decrypt/unwrap %.2fx\n",
              encrypt.ops_per_s / std::max(1.0, wrap.ops_per_s),
              decrypt.ops_per_s / std::max(1.0, unwrap.ops_per_s));
  return wrap.errors + encrypt.errors + unwrap.errors + decrypt.errors == 0 ? 0 : 1;
}
