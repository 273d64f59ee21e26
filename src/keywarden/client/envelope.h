#ifndef KEYWARDEN_CLIENT_ENVELOPE_H_
#define KEYWARDEN_CLIENT_ENVELOPE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/client/envelope_format.h"
#include "keywarden/client/key_protect.h"
#include "keywarden/common/secret_bytes.h"

// Envelope encryption of objects of any size (`keywarden encrypt|decrypt`,
// docs/formats/envelope.md, docs/integrations/object-storage.md): a fresh
// 256-bit DEK per object, wrapped once by a root key on the server, and the
// object streamed through AES-256-GCM in 64 KiB segments. Memory is bounded
// (a few segments) whatever the size of the object. Decrypting needs the
// server to unwrap the DEK, so an object opens only while its root key is
// usable: disable or delete the key and the object is unreadable.
namespace keywarden::client {

// Where bytes come from and go to. Implementations need not be thread-safe.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to out.size() bytes; returns 0 only at the end of the input.
  virtual absl::StatusOr<size_t> Read(std::span<uint8_t> out) = 0;
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual absl::Status Write(std::span<const uint8_t> bytes) = 0;
};

// Called after each segment with the plaintext bytes done so far.
using EnvelopeProgress = std::function<void(uint64_t bytes)>;

struct EncryptOptions {
  std::string key;  // the root key: id or alias
  EnvelopeAad aad;  // ParseEnvelopeAad()
  // When set, this resource CRN (a bucket's, an object's) is registered
  // with the key before any byte is written (Key Protect registrations:
  // services only).
  std::string register_crn;
  EnvelopeProgress progress;
};

struct DecryptOptions {
  // When set, the object's AAD must be exactly this set (checked before
  // the server is asked for anything).
  std::optional<EnvelopeAad> expected_aad;
  EnvelopeProgress progress;
};

// What an object's header says, once the object has been read or written.
struct EnvelopeInfo {
  std::string key_id;
  std::string key_version_id;
  EnvelopeAad aad;
  uint64_t plaintext_bytes = 0;
};

// Encrypts `in` to `out` with one wrap call. An alias in options.key is
// resolved to the key's id first (one metadata read), since the header
// must name the key itself. Errors: the server's (the key disabled,
// no access, …) before anything is written; a read or write error.
absl::StatusOr<EnvelopeInfo> EncryptObject(KeyProtectClient& kp,
                                           const EncryptOptions& options,
                                           ByteSource& in, ByteSink& out);

// Decrypts `in` to `out` with one unwrap call by the key the header names.
// Only authenticated plaintext is written, segment by segment; a stream
// that is cut, reordered, extended or altered fails with InvalidArgument
// "decryption failed: …" after the segments before the damage were
// written, so a caller that must not keep partial plaintext writes to a
// temporary file and renames it on success (as `keywarden decrypt` does).
absl::StatusOr<EnvelopeInfo> DecryptObject(KeyProtectClient& kp,
                                           const DecryptOptions& options,
                                           ByteSource& in, ByteSink& out);

// The layers under EncryptObject and DecryptObject, without a server: for
// the golden vectors, and for callers that hold the DEK themselves.
//
// SealStream writes `header` (encoded) and then `in`, sealed under `dek`.
absl::Status SealStream(const SecretBytes& dek, const EnvelopeHeader& header,
                        ByteSource& in, ByteSink& out,
                        const EnvelopeProgress& progress = {});
// ReadEnvelopeHeader reads exactly the header's bytes (bounded by
// kEnvelopeMaxHeaderSize) from `in`; ParseEnvelopeHeader decodes them.
absl::StatusOr<std::vector<uint8_t>> ReadEnvelopeHeader(ByteSource& in);
// OpenStream reads the segments after `header` from `in` and writes the
// plaintext to `out`; returns the plaintext size.
absl::StatusOr<uint64_t> OpenStream(const SecretBytes& dek,
                                    std::span<const uint8_t> header,
                                    ByteSource& in, ByteSink& out,
                                    const EnvelopeProgress& progress = {});

}  // namespace keywarden::client

#endif  // KEYWARDEN_CLIENT_ENVELOPE_H_
