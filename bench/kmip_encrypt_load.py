#!/usr/bin/python3
"""The PyKMIP-client workload of bench/kmip-pykmip.sh and the key setup of
bench/kmip-load.sh: KMIP Encrypt of 32 bytes with an AES-256 key in AES-GCM
(16-byte tag, IV chosen by the server), through PyKMIP's ProxyKmipClient
(Debian python3-pykmip), against any KMIP server.

  kmip_encrypt_load.py --port P --cert C --key K --ca CA
                       [--uid ID] [--ops N] [--warmup N] [--server-pid PID]
                       [--version 1.2|1.4|2.0] [--setup-only]

Without --uid it creates an AES-256 key (usage Encrypt|Decrypt) and
activates it. --setup-only prints that key's id and exits. Otherwise it
sends --warmup Encrypts, then --ops Encrypts back to back on one connection,
checks every answer (32 bytes of ciphertext, a 16-byte tag, an IV), and
prints one line:

  ops N seconds S ops_per_s R server_cpu_us_per_op C client_cpu_us_per_op K

where C is the server process's utime+stime (/proc/PID/stat) over the
measured ops divided by N (-1 without --server-pid), and K the same for
this client. Exits non-zero on the first failed operation.
"""

import argparse
import os
import sys
import time

from kmip import enums
from kmip.pie import client as pie_client

VERSIONS = {
    "1.2": enums.KMIPVersion.KMIP_1_2,
    "1.4": enums.KMIPVersion.KMIP_1_4,
    "2.0": enums.KMIPVersion.KMIP_2_0,
}
PLAINTEXT = bytes(range(32))
PARAMETERS = {
    "cryptographic_algorithm": enums.CryptographicAlgorithm.AES,
    "block_cipher_mode": enums.BlockCipherMode.GCM,
    "tag_length": 16,
}


def cpu_us(pid):
    """utime + stime of a process so far, in microseconds."""
    with open(f"/proc/{pid}/stat") as f:
        line = f.read()
    # Fields 14 and 15, counted after the ")" that ends the command name.
    fields = line[line.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1e6 / os.sysconf("SC_CLK_TCK")


def encrypt(c, uid):
    data, iv = c.encrypt(PLAINTEXT, uid=uid, cryptographic_parameters=PARAMETERS)
    # ProxyKmipClient returns (data, iv) and drops the tag; the ciphertext
    # length shows that the server ran the cipher over the 32 bytes.
    if len(data) != 32 or not iv:
        raise RuntimeError(f"unexpected Encrypt answer: {len(data)} bytes, iv {iv!r}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--uid")
    p.add_argument("--ops", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--server-pid", type=int, default=0)
    p.add_argument("--version", choices=sorted(VERSIONS), default="1.4")
    p.add_argument("--setup-only", action="store_true")
    a = p.parse_args()
    if a.ops < 1 or a.warmup < 0:
        p.error("--ops must be positive and --warmup non-negative")

    c = pie_client.ProxyKmipClient(
        hostname=a.host, port=a.port, cert=a.cert, key=a.key, ca=a.ca,
        config_file="/dev/null", kmip_version=VERSIONS[a.version])
    c.open()
    try:
        uid = a.uid
        if uid is None:
            uid = c.create(
                enums.CryptographicAlgorithm.AES, 256, name="bench-aes-256",
                cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT,
                                          enums.CryptographicUsageMask.DECRYPT])
            c.activate(uid)
        if a.setup_only:
            print(uid)
            return 0
        for _ in range(a.warmup):
            encrypt(c, uid)
        server0 = cpu_us(a.server_pid) if a.server_pid else 0.0
        client0 = cpu_us(os.getpid())
        t0 = time.monotonic()
        for _ in range(a.ops):
            encrypt(c, uid)
        seconds = time.monotonic() - t0
        client1 = cpu_us(os.getpid())
        server1 = cpu_us(a.server_pid) if a.server_pid else 0.0
    finally:
        c.close()
    server = (server1 - server0) / a.ops if a.server_pid else -1.0
    print(f"ops {a.ops} seconds {seconds:.3f} ops_per_s {a.ops / seconds:.1f} "
          f"server_cpu_us_per_op {server:.1f} "
          f"client_cpu_us_per_op {(client1 - client0) / a.ops:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
