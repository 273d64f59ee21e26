#!/usr/bin/python3
"""PyKMIP's client (Debian python3-pykmip) against api/kmip.

Usage: pykmip_client_test.py KMIP_TEST_SERVER

Makes a server and two client certificates with the openssl CLI in a temp
dir, starts KMIP_TEST_SERVER (the TLS transport and protocol layer over the
in-memory test backend), and runs PyKMIP's ProxyKmipClient at KMIP 1.2, 1.4
and 2.0 through every operation that backend implements. Prints the
operations x versions table; exits non-zero on any failure. The real
backend (the service) is tested against the same client once it is wired.
"""

import os
import subprocess
import sys
import tempfile
import traceback

from kmip import enums
from kmip.core import exceptions as core_exceptions
from kmip.pie import client as pie_client
from kmip.pie import exceptions
from kmip.pie import objects

VERSIONS = {
    "1.2": enums.KMIPVersion.KMIP_1_2,
    "1.4": enums.KMIPVersion.KMIP_1_4,
    "2.0": enums.KMIPVersion.KMIP_2_0,
}


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_certs(d):
    for name in ("server", "alice", "bob"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                "-subj", f"/CN={'localhost' if name == 'server' else name}",
                "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.pem")


def connect(d, port, who, version):
    c = pie_client.ProxyKmipClient(
        hostname="127.0.0.1", port=port, cert=f"{d}/{who}.pem",
        key=f"{d}/{who}.key", ca=f"{d}/server.pem",
        config_file="/dev/null", kmip_version=version)
    c.open()
    return c


def expect_failure(fn, reason):
    try:
        fn()
    except exceptions.KmipOperationFailure as e:
        if e.reason != reason:
            raise AssertionError(f"expected {reason}, got {e.reason}: {e.message}")
        return
    raise AssertionError(f"expected a failure with {reason}")


def run(d, port, version_name):
    v = VERSIONS[version_name]
    results = {}

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
        state["uid"] = c.create(
            enums.CryptographicAlgorithm.AES, 256, name=label,
            cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT,
                                      enums.CryptographicUsageMask.DECRYPT])
    step("Create", create)
    uid = state.get("uid")

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
        from kmip.core import attributes as core_attributes
        f = AttributeFactory()
        name = f.create_attribute(
            enums.AttributeType.NAME,
            core_attributes.Name.create(label, enums.NameType.UNINTERPRETED_TEXT_STRING))
        found = c.locate(attributes=[name])
        assert found == [uid], found
        assert bob.locate(attributes=[name]) == [], "bob sees alice's key"
        length = f.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 256)
        assert len(c.locate(maximum_items=1, attributes=[length])) == 1
    step("Locate", locate)

    def activate():
        c.activate(uid)
        _, attrs = c.get_attributes(uid, ["State"])
        assert attrs[0].attribute_value.value == enums.State.ACTIVE
    step("Activate", activate)

    def get():
        key = c.get(uid)
        assert isinstance(key, objects.SymmetricKey), type(key)
        assert len(key.value) == 32
        expect_failure(lambda: bob.get(uid), enums.ResultReason.ITEM_NOT_FOUND)
    step("Get", get)

    def delete_attribute():
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
    step("Delete Attribute", delete_attribute)

    def encrypt():
        data, iv = c.encrypt(b"thirty-two bytes of plaintext!!!", uid,
                             {"block_cipher_mode": enums.BlockCipherMode.GCM,
                              "tag_length": 16})
        assert len(data) == 32 and data != b"thirty-two bytes of plaintext!!!"
        assert len(iv) == 12, iv
    step("Encrypt", encrypt)

    def mac():
        got_uid, mac_data = c.mac(b"message", uid, enums.CryptographicAlgorithm.HMAC_SHA256)
        assert got_uid == uid and len(mac_data) == 32
    step("MAC", mac)

    def register():
        secret = objects.SecretData(b"s3cret password", enums.SecretDataType.PASSWORD)
        sid = c.register(secret)
        assert c.get(sid).value == b"s3cret password"
        key = objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 128, bytes(range(16)))
        kid = c.register(key)
        got = c.get(kid)
        assert got.value == bytes(range(16)) and got.cryptographic_length == 128
    step("Register", register)

    def revoke_destroy():
        expect_failure(lambda: c.destroy(uid),
                       enums.ResultReason.WRONG_KEY_LIFECYCLE_STATE
                       if v == enums.KMIPVersion.KMIP_2_0
                       else enums.ResultReason.ILLEGAL_OPERATION)
        c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
        c.destroy(uid)
        expect_failure(lambda: c.get(uid), enums.ResultReason.KEY_VALUE_NOT_PRESENT)
    step("Revoke, Destroy", revoke_destroy)

    c.close()
    bob.close()
    return results


def main():
    server_bin = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        make_certs(d)
        proc = subprocess.Popen([server_bin, f"{d}/server.pem", f"{d}/server.key"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            assert line.startswith("PORT "), line
            port = int(line.split()[1])
            table = {name: run(d, port, name) for name in VERSIONS}
        finally:
            proc.stdin.close()
            proc.wait(timeout=60)
    ops = list(next(iter(table.values())).keys())
    print("| operation | " + " | ".join(VERSIONS) + " |")
    print("| --- |" + " --- |" * len(VERSIONS))
    failed = False
    for op in ops:
        row = [table[v].get(op, "-") for v in VERSIONS]
        failed |= "FAIL" in row
        print(f"| {op} | " + " | ".join(row) + " |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
