#!/usr/bin/python3
"""PyKMIP's client (Debian python3-pykmip) against the real keywarden server.

Usage: keywarden_kmip_test.py KEYWARDEN_BINARY

Makes a KMIP server certificate and client certificates with the openssl CLI
in a temp dir, starts `keywarden server` on a temp data dir with the KMIP
listener on a free port and the test clock, sets up over REST an instance,
two root keys, two KMIP adapters (A, B) and their client certificates
(alice -> A, bob -> B; mallory registered nowhere), then runs PyKMIP's
ProxyKmipClient at KMIP 1.2, 1.4 and 2.0 through every operation, and the
cross-protocol rules: adapter B never sees A's objects; disabling A's root
key over REST stops KMIP Get and Encrypt and enabling it restores them;
deleting the root key makes A's objects unrecoverable. Prints the operations
x versions table; exits non-zero on any failure.
"""

import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

from kmip import enums
from kmip.pie import client as pie_client
from kmip.pie import exceptions
from kmip.pie import objects

VERSIONS = {
    "1.2": enums.KMIPVersion.KMIP_1_2,
    "1.4": enums.KMIPVersion.KMIP_1_4,
    "2.0": enums.KMIPVersion.KMIP_2_0,
}
TOKEN = "kmip-test-admin-token-" + "x" * 24


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_certs(d):
    for name in ("server", "alice", "bob", "mallory"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                "-subj", f"/CN={'localhost' if name == 'server' else name}",
                "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.pem")
        os.chmod(f"{d}/{name}.key", 0o600)


class Server:
    def __init__(self, binary, d):
        self.proc = subprocess.Popen(
            [binary, "server", "--data-dir", f"{d}/data", "--listen", "127.0.0.1:0",
             "--kmip-listen", "127.0.0.1:0", "--kmip-tls-cert", f"{d}/server.pem",
             "--kmip-tls-key", f"{d}/server.key", "--test-clock"],
            env={**os.environ, "KEYWARDEN_ADMIN_TOKEN": TOKEN},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.url = None
        self.kmip_port = None
        self.log = []
        started = threading.Event()

        # One reader for the whole run: the server never blocks on a full
        # pipe, and no line hides in a buffer that select() cannot see.
        def read():
            for line in self.proc.stdout:
                self.log.append(line)
                m = re.search(r"KMIP listening on [^:]+:(\d+)", line)
                if m:
                    self.kmip_port = int(m.group(1))
                m = re.search(r"listening on (http://[^\s\"',}]+)", line)
                if m:
                    self.url = m.group(1)
                if self.url and self.kmip_port:
                    started.set()
            started.set()
        threading.Thread(target=read, daemon=True).start()
        started.wait(timeout=120)
        if self.url is None or self.kmip_port is None:
            raise RuntimeError("keywarden did not start:\n" + "".join(self.log))

    def request(self, method, path, body=None, instance=None, expect=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {TOKEN}")
        req.add_header("Content-Type", "application/json")
        if instance:
            req.add_header("Bluemix-Instance", instance)
        try:
            with urllib.request.urlopen(req) as res:
                status, text = res.status, res.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        if expect is not None and status != expect:
            raise AssertionError(f"{method} {path}: {status} {text}")
        return status, (json.loads(text) if text else None)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def collection(kind, resource):
    return {"metadata": {"collectionType": f"application/vnd.ibm.kms.{kind}+json",
                         "collectionTotal": 1},
            "resources": [resource]}


def setup(srv, d):
    _, inst = srv.request("POST", "/admin/v1/instances", {"name": "kmip"}, expect=201)
    instance = inst["id"]
    env = {"instance": instance}
    for side in ("a", "b"):
        _, keys = srv.request("POST", "/api/v2/keys", collection(
            "key", {"type": "application/vnd.ibm.kms.key+json",
                    "name": f"crk-{side}", "extractable": False}),
            instance=instance, expect=201)
        crk = keys["resources"][0]["id"]
        _, ad = srv.request("POST", "/api/v2/kmip_adapters", collection(
            "kmip_adapter", {"name": f"adapter-{side}", "profile": "native_1.0",
                             "profile_data": {"crk_id": crk}}),
            instance=instance, expect=201)
        adapter = ad["resources"][0]["id"]
        who = "alice" if side == "a" else "bob"
        with open(f"{d}/{who}.pem") as f:
            pem = f.read()
        srv.request("POST", f"/api/v2/kmip_adapters/{adapter}/certificates",
                    collection("kmip_client_certificate", {"name": who, "certificate": pem}),
                    instance=instance, expect=201)
        env[side] = {"crk": crk, "adapter": adapter}
    # The same certificate cannot be registered twice (it names one adapter).
    status, _ = srv.request(
        "POST", f"/api/v2/kmip_adapters/{env['b']['adapter']}/certificates",
        collection("kmip_client_certificate", {"name": "again", "certificate": pem}),
        instance=instance)
    assert status == 409, status
    return env


def connect(d, port, who, version):
    c = pie_client.ProxyKmipClient(
        hostname="127.0.0.1", port=port, cert=f"{d}/{who}.pem",
        key=f"{d}/{who}.key", ca=f"{d}/server.pem",
        config_file="/dev/null", kmip_version=version)
    c.open()
    return c


def expect_failure(fn, *reasons):
    try:
        fn()
    except exceptions.KmipOperationFailure as e:
        if e.reason not in reasons:
            raise AssertionError(f"expected {reasons}, got {e.reason}: {e.message}")
        return
    raise AssertionError(f"expected a failure with {reasons}")


def name_attribute(label):
    from kmip.core.factories.attributes import AttributeFactory
    from kmip.core import attributes as core_attributes
    return AttributeFactory().create_attribute(
        enums.AttributeType.NAME,
        core_attributes.Name.create(label, enums.NameType.UNINTERPRETED_TEXT_STRING))


def run(d, port, version_name, srv, env):
    v = VERSIONS[version_name]
    results = {}
    wrong_state = (enums.ResultReason.WRONG_KEY_LIFECYCLE_STATE
                   if v == enums.KMIPVersion.KMIP_2_0
                   else enums.ResultReason.ILLEGAL_OPERATION)

    def step(name, fn):
        try:
            fn()
            results[name] = "ok"
        except Exception:  # the table shows which step failed, the log why
            traceback.print_exc()
            results[name] = "FAIL"

    c = connect(d, port, "alice", v)
    bob = connect(d, port, "bob", v)
    state = {}
    label = f"pykmip-{version_name}"

    def create():
        for bits in (128, 192, 256):
            uid = c.create(
                enums.CryptographicAlgorithm.AES, bits, name=f"{label}-{bits}",
                cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT,
                                          enums.CryptographicUsageMask.DECRYPT])
            state[bits] = uid
        state["uid"] = state[256]
        for alg, bits in ((enums.CryptographicAlgorithm.HMAC_SHA256, 256),
                          (enums.CryptographicAlgorithm.HMAC_SHA384, 384),
                          (enums.CryptographicAlgorithm.HMAC_SHA512, 512)):
            state[alg] = c.create(alg, bits, name=f"{label}-{alg.name}")
    step("Create (AES 128/192/256, HMAC-SHA256/384/512)", create)
    uid = state.get("uid")

    def create_key_pair():
        bits = 2048 if version_name != "1.4" else 3072
        pub, priv = c.create_key_pair(
            enums.CryptographicAlgorithm.RSA, bits,
            public_name=f"{label}-pub", private_name=f"{label}-priv",
            public_usage_mask=[enums.CryptographicUsageMask.VERIFY],
            private_usage_mask=[enums.CryptographicUsageMask.SIGN])
        state["pub"], state["priv"] = pub, priv
        key = c.get(pub)
        assert isinstance(key, objects.PublicKey), type(key)
    step("Create Key Pair (RSA)", create_key_pair)

    def get_attributes():
        got_uid, attrs = c.get_attributes(
            uid, ["Cryptographic Algorithm", "Cryptographic Length", "State"])
        values = {a.attribute_name.value: a.attribute_value.value for a in attrs}
        assert got_uid == uid, got_uid
        assert values["Cryptographic Algorithm"] == enums.CryptographicAlgorithm.AES, values
        assert values["Cryptographic Length"] == 256, values
        assert values["State"] == enums.State.PRE_ACTIVE, values
    step("Get Attributes", get_attributes)

    def get_attribute_list():
        names = c.get_attribute_list(uid)
        assert "Cryptographic Algorithm" in names and "Name" in names, names
    step("Get Attribute List", get_attribute_list)

    def locate():
        from kmip.core.factories.attributes import AttributeFactory
        f = AttributeFactory()
        found = c.locate(attributes=[name_attribute(f"{label}-256")])
        assert found == [uid], found
        assert bob.locate(attributes=[name_attribute(f"{label}-256")]) == [], \
            "adapter B sees adapter A's key"
        length = f.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 192)
        # Earlier versions' runs made 192-bit keys in this adapter too.
        by_length = c.locate(attributes=[length])
        assert state[192] in by_length and uid not in by_length, by_length
        assert c.locate(attributes=[length, name_attribute(f"{label}-192")]) == [state[192]]
        assert len(c.locate(maximum_items=1)) == 1
        pre = f.create_attribute(enums.AttributeType.STATE, enums.State.PRE_ACTIVE)
        assert uid in c.locate(attributes=[pre])
    step("Locate", locate)

    def activate():
        for k in (uid, state[128], state.get("priv"), state.get("pub"),
                  state.get(enums.CryptographicAlgorithm.HMAC_SHA384)):
            if k:
                c.activate(k)
        _, attrs = c.get_attributes(uid, ["State"])
        assert attrs[0].attribute_value.value == enums.State.ACTIVE
        expect_failure(lambda: c.activate(uid), wrong_state)
    step("Activate", activate)

    def get():
        key = c.get(uid)
        assert isinstance(key, objects.SymmetricKey), type(key)
        assert len(key.value) == 32
        expect_failure(lambda: bob.get(uid), enums.ResultReason.ITEM_NOT_FOUND)
    step("Get", get)

    def attributes_change():
        if v == enums.KMIPVersion.KMIP_2_0:
            from kmip.core import objects as core_objects
            got_uid, _ = c.delete_attribute(
                uid, attribute_reference=core_objects.AttributeReference(
                    vendor_identification="", attribute_name="Name"))
        else:
            got_uid, deleted = c.delete_attribute(
                uid, attribute_name="Name", attribute_index=0)
            assert deleted.attribute_name.value == "Name", deleted
        assert got_uid == uid
        assert "Name" not in c.get_attribute_list(uid)
        assert c.locate(attributes=[name_attribute(f"{label}-256")]) == []
    step("Delete Attribute", attributes_change)

    def encrypt_gcm():
        params = {"block_cipher_mode": enums.BlockCipherMode.GCM, "tag_length": 16}
        data, iv = c.encrypt(b"thirty-two bytes of plaintext!!!", uid, params)
        assert len(data) == 32 and data != b"thirty-two bytes of plaintext!!!"
        assert len(iv) == 12, iv
    step("Encrypt (AES-GCM)", encrypt_gcm)

    def cbc():
        params = {"block_cipher_mode": enums.BlockCipherMode.CBC,
                  "padding_method": enums.PaddingMethod.PKCS5}
        data, iv = c.encrypt(b"seventeen bytes!!", state[128], params)
        assert len(data) == 32 and len(iv) == 16, (len(data), iv)
        plain = c.decrypt(data, state[128], params, iv_counter_nonce=iv)
        assert plain == b"seventeen bytes!!", plain
        # A ciphertext that is not whole blocks: always the one failure.
        expect_failure(lambda: c.decrypt(data[:15], state[128], params,
                                         iv_counter_nonce=iv),
                       enums.ResultReason.CRYPTOGRAPHIC_FAILURE)
    step("Encrypt/Decrypt (AES-CBC PKCS#5)", cbc)

    def mac():
        got_uid, mac_data = c.mac(b"message", state[enums.CryptographicAlgorithm.HMAC_SHA384],
                                  enums.CryptographicAlgorithm.HMAC_SHA384)
        assert len(mac_data) == 48, len(mac_data)
        got_uid, mac_data = c.mac(b"message", uid, enums.CryptographicAlgorithm.HMAC_SHA256)
        assert got_uid == uid and len(mac_data) == 32
    step("MAC (HMAC)", mac)

    def sign_verify():
        for params in (
                {"padding_method": enums.PaddingMethod.PSS,
                 "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA,
                 "hashing_algorithm": enums.HashingAlgorithm.SHA_256},
                {"digital_signature_algorithm":
                     enums.DigitalSignatureAlgorithm.SHA256_WITH_RSA_ENCRYPTION}):
            sig = c.sign(b"signed message", uid=state["priv"],
                         cryptographic_parameters=params)
            assert c.signature_verify(b"signed message", sig, state["pub"], params) == \
                enums.ValidityIndicator.VALID
            assert c.signature_verify(b"other message", sig, state["pub"], params) == \
                enums.ValidityIndicator.INVALID
    step("Sign, Signature Verify (RSA PSS, PKCS#1 v1.5)", sign_verify)

    def register():
        secret = objects.SecretData(b"s3cret password", enums.SecretDataType.PASSWORD)
        sid = c.register(secret)
        assert c.get(sid).value == b"s3cret password"
        key = objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 128, bytes(range(16)))
        kid = c.register(key)
        got = c.get(kid)
        assert got.value == bytes(range(16)) and got.cryptographic_length == 128
        expect_failure(lambda: bob.get(kid), enums.ResultReason.ITEM_NOT_FOUND)
    step("Register", register)

    def disable_enable():
        inst, crk = env["instance"], env["a"]["crk"]
        srv.request("POST", f"/api/v2/keys/{crk}/actions/disable", instance=inst, expect=204)
        expect_failure(lambda: c.get(uid), wrong_state)
        expect_failure(lambda: c.encrypt(b"x" * 16, uid,
                                         {"block_cipher_mode": enums.BlockCipherMode.GCM}),
                       wrong_state)
        # Enabling waits 30 s after a disable (keyprotect-api.md §16).
        srv.request("POST", "/_test/clock/advance", {"seconds": 31}, expect=204)
        srv.request("POST", f"/api/v2/keys/{crk}/actions/enable", instance=inst, expect=204)
        assert len(c.get(uid).value) == 32
        c.encrypt(b"x" * 16, uid, {"block_cipher_mode": enums.BlockCipherMode.GCM})
    step("Root key disabled/enabled over REST", disable_enable)

    def rest_view():
        inst, adapter = env["instance"], env["a"]["adapter"]
        _, listed = srv.request("GET", f"/api/v2/kmip_adapters/{adapter}/kmip_objects"
                                "?limit=5000", instance=inst, expect=200)
        ids = [o["id"] for o in listed["resources"]]
        assert uid in ids, ids
        srv.request("GET", f"/api/v2/kmip_adapters/{env['b']['adapter']}/kmip_objects/{uid}",
                    instance=inst, expect=404)
        status, _ = srv.request("DELETE", f"/api/v2/kmip_adapters/{adapter}/kmip_objects/{uid}",
                                instance=inst)
        assert status == 409, status  # Active
        status, _ = srv.request("DELETE", f"/api/v2/kmip_adapters/{adapter}", instance=inst)
        assert status == 409, status  # holds objects
    step("REST view of the objects", rest_view)

    def revoke_destroy():
        expect_failure(lambda: c.destroy(uid), wrong_state)
        c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
        _, attrs = c.get_attributes(uid, ["State"])
        assert attrs[0].attribute_value.value == enums.State.DEACTIVATED
        c.destroy(uid)
        expect_failure(lambda: c.get(uid), enums.ResultReason.KEY_VALUE_NOT_PRESENT)
        c.revoke(enums.RevocationReasonCode.KEY_COMPROMISE, state[192])
        c.destroy(state[192])
        _, attrs = c.get_attributes(state[192], ["State"])
        assert attrs[0].attribute_value.value == enums.State.DESTROYED_COMPROMISED
    step("Revoke, Destroy", revoke_destroy)

    c.close()
    bob.close()
    return results


def unknown_certificate_refused(d, port):
    # The handshake itself fails: no KMIP answer at all, not even an error.
    try:
        connect(d, port, "mallory", VERSIONS["1.4"]).create(
            enums.CryptographicAlgorithm.AES, 128)
    except exceptions.KmipOperationFailure as e:
        raise AssertionError(f"an unregistered certificate got a KMIP answer: {e}")
    except Exception:  # TLS or connection failure
        return
    raise AssertionError("an unregistered certificate was served")


def delete_root_key(d, port, srv, env):
    c = connect(d, port, "alice", VERSIONS["1.4"])
    uid = c.create(enums.CryptographicAlgorithm.AES, 256)
    c.activate(uid)
    assert len(c.get(uid).value) == 32
    inst, crk = env["instance"], env["a"]["crk"]
    srv.request("DELETE", f"/api/v2/keys/{crk}", instance=inst, expect=204)
    expect_failure(lambda: c.get(uid), enums.ResultReason.ILLEGAL_OPERATION)
    expect_failure(lambda: c.encrypt(b"x" * 16, uid,
                                     {"block_cipher_mode": enums.BlockCipherMode.GCM}),
                   enums.ResultReason.ILLEGAL_OPERATION)
    c.close()


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        make_certs(d)
        srv = Server(binary, d)
        extra = {}
        try:
            env = setup(srv, d)
            table = {name: run(d, srv.kmip_port, name, srv, env) for name in VERSIONS}
            for name, fn in (("unregistered certificate refused",
                              lambda: unknown_certificate_refused(d, srv.kmip_port)),
                             ("root key deleted: objects unrecoverable",
                              lambda: delete_root_key(d, srv.kmip_port, srv, env))):
                try:
                    fn()
                    extra[name] = "ok"
                except Exception:
                    traceback.print_exc()
                    extra[name] = "FAIL"
        finally:
            srv.stop()
    ops = list(next(iter(table.values())).keys())
    print("| operation | " + " | ".join(VERSIONS) + " |")
    print("| --- |" + " --- |" * len(VERSIONS))
    failed = False
    for op in ops:
        row = [table[v].get(op, "-") for v in VERSIONS]
        failed |= "FAIL" in row
        print(f"| {op} | " + " | ".join(row) + " |")
    for name, result in extra.items():
        failed |= result != "ok"
        print(f"| {name} | {result} (once) | | |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
