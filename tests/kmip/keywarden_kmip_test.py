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
key over REST stops KMIP Create, Create Key Pair, Register, Get and Encrypt
(Wrong Key Lifecycle State; 1.x: Illegal Operation) and enabling it restores
them; deleting the root key makes A's objects unrecoverable. Prints the
operations x versions table; exits non-zero on any failure.

PyKMIP has no Add Attribute and no batch error continuation option: those
requests are encoded here (ttlv()) and sent over the PyKMIP client's own TLS
connection. Signatures, MACs and AES-GCM/CBC results are checked against
python3-cryptography with the key material read back over KMIP.

What it exercises (every cell "ok" on a passing run; the last rows once):

| operation                                          | 1.2 | 1.4 | 2.0 |
| Discover Versions                                  | ok  | ok  | ok  |
| Query (operations, objects)                        | ok  | ok  | ok  |
| Create (AES 128/192/256, HMAC-SHA256/384/512)      | ok  | ok  | ok  |
| Create Key Pair (RSA 2048/3072/4096) + Sign/Verify | ok  | ok  | ok  |
| Get Attributes                                     | ok  | ok  | ok  |
| Get Attribute List                                 | ok  | ok  | ok  |
| Add Attribute (+ refusals)                         | ok  | ok  | ok  |
| Modify Attribute (+ refusals)                      | ok  | ok  | ok  |
| Locate (name, state, type, algorithm, length, max) | ok  | ok  | ok  |
| Activate                                           | ok  | ok  | ok  |
| Get (Raw, Transparent Symmetric Key)               | ok  | ok  | ok  |
| Delete Attribute                                   | ok  | ok  | ok  |
| Encrypt/Decrypt AES-GCM (tag 16/12, AAD, server IV)| ok* | ok  | ok  |
| Encrypt/Decrypt AES-CBC PKCS#5 (server IV)         | ok  | ok  | ok  |
| MAC (HMAC)                                         | ok  | ok  | ok  |
| Sign, Signature Verify (RSA PSS, PKCS#1 v1.5)      | ok  | ok  | ok  |
| Register (secret data, AES key)                    | ok  | ok  | ok  |
| Register RSA public + private, Sign/Verify         | ok  | ok  | ok  |
| Batch with error continuation (Continue, Stop)     | ok  | ok  | ok  |
| Root key disabled/enabled over REST                | ok  | ok  | ok  |
| REST view of the objects                           | ok  | ok  | ok  |
| Revoke, Destroy                                    | ok  | ok  | ok  |
| unregistered certificate refused                   | once (1.4)      |
| root key deleted: objects unrecoverable            | once (1.4)      |

* KMIP 1.2 has no AAD and no Authenticated Encryption Tag (both 1.4), so at
  1.2 only Encrypt is checked (against AES-GCM locally).
"""

import json
import os
import re
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from kmip import enums
from kmip.core import attributes as core_attributes
from kmip.core import exceptions as core_exceptions
from kmip.core import misc
from kmip.core import objects as core_objects
from kmip.core import primitives
from kmip.core.factories.attributes import AttributeFactory
from kmip.core.messages import payloads
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
    # The pie client's failure, or the proxy's (send_request_payload).
    except (exceptions.KmipOperationFailure, core_exceptions.OperationFailure) as e:
        if e.reason not in reasons:
            raise AssertionError(f"expected {reasons}, got {e.reason}: {e}")
        return
    raise AssertionError(f"expected a failure with {reasons}")


def name_attribute(label):
    return AttributeFactory().create_attribute(
        enums.AttributeType.NAME,
        core_attributes.Name.create(label, enums.NameType.UNINTERPRETED_TEXT_STRING))


# ---- raw TTLV (KMIP 1.4 §9.1), for what PyKMIP cannot send

STRUCT, INTEGER, ENUM, TEXT, BYTES = 0x01, 0x02, 0x05, 0x07, 0x08
T = {  # tags (KMIP 1.4 §9.1.3.1, 2.0 §10.1.3)
    "Attribute": 0x420008, "Attribute Index": 0x420009, "Attribute Name": 0x42000A,
    "Attribute Value": 0x42000B, "Batch Count": 0x42000D,
    "Batch Error Continuation Option": 0x42000E, "Batch Item": 0x42000F,
    "Contact Information": 0x420022, "Name": 0x420053, "Name Type": 0x420054,
    "Name Value": 0x420055, "Operation": 0x42005C, "Protocol Version": 0x420069,
    "Protocol Version Major": 0x42006A, "Protocol Version Minor": 0x42006B,
    "Request Header": 0x420077, "Request Message": 0x420078,
    "Request Payload": 0x420079, "Response Payload": 0x42007C,
    "Result Message": 0x42007D, "Result Reason": 0x42007E,
    "Result Status": 0x42007F, "Unique Batch Item ID": 0x420093,
    "Unique Identifier": 0x420094, "New Attribute": 0x42013D,
    "State": 0x42008D, "Symmetric Key": 0x42008F, "Key Block": 0x420040,
    "Key Format Type": 0x420042, "Key Value": 0x420045, "Key Material": 0x420043,
    "Key": 0x42003F,
}


def ttlv(tag, typ, value):
    if typ == STRUCT:
        body = b"".join(value)
    elif typ == INTEGER:
        body = struct.pack(">i", value)
    elif typ == ENUM:
        body = struct.pack(">I", value)
    elif typ == TEXT:
        body = value.encode()
    else:
        body = value
    pad = b"\0" * ((8 - len(body) % 8) % 8)
    return struct.pack(">I", T[tag])[1:] + bytes([typ]) + struct.pack(">I", len(body)) + body + pad


def parse_ttlv(data):
    """[(tag, type, value)], structures' values parsed in turn."""
    out, pos = [], 0
    while pos < len(data):
        tag = int.from_bytes(data[pos:pos + 3], "big")
        typ, length = data[pos + 3], struct.unpack(">I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + length]
        if typ == STRUCT:
            value = parse_ttlv(body)
        elif typ in (INTEGER, ENUM):
            value = int.from_bytes(body[:4], "big", signed=typ == INTEGER)
        elif typ == TEXT:
            value = body.decode()
        else:
            value = bytes(body)
        out.append((tag, typ, value))
        pos += 8 + length + (8 - length % 8) % 8
    return out


def field(items, name):
    return next((v for t, _, v in items if t == T[name]), None)


def raw_batch(c, version_name, items, continuation=None):
    """Sends `items` [(operation, [payload fields])] as one request over
    PyKMIP's connection; returns [(status, reason, message, payload)] per
    answered item."""
    major, minor = (int(x) for x in version_name.split("."))
    header = [ttlv("Protocol Version", STRUCT, [
        ttlv("Protocol Version Major", INTEGER, major),
        ttlv("Protocol Version Minor", INTEGER, minor)])]
    if continuation is not None:
        header.append(ttlv("Batch Error Continuation Option", ENUM, continuation))
    header.append(ttlv("Batch Count", INTEGER, len(items)))
    batch = [ttlv("Batch Item", STRUCT, [
        ttlv("Operation", ENUM, op),
        ttlv("Unique Batch Item ID", BYTES, bytes([i])),
        ttlv("Request Payload", STRUCT, fields)]) for i, (op, fields) in enumerate(items)]
    c.proxy.protocol.write(ttlv("Request Message", STRUCT,
                                [ttlv("Request Header", STRUCT, header)] + batch))
    (_, _, message), = parse_ttlv(bytes(c.proxy.protocol.read().buffer))
    answers = []
    for t, _, item in message:
        if t == T["Batch Item"]:
            answers.append((field(item, "Result Status"), field(item, "Result Reason"),
                            field(item, "Result Message"), field(item, "Response Payload")))
    return answers


def add_attribute(c, version_name, uid, name, tag, typ, value):
    """Add Attribute (KMIP 1.4 §4.13; 2.0 §6.1.2): (status, reason, message,
    payload)."""
    if version_name == "2.0":
        fields = [ttlv("New Attribute", STRUCT, [ttlv(tag, typ, value)])]
    else:
        fields = [ttlv("Attribute", STRUCT, [ttlv("Attribute Name", TEXT, name),
                                             ttlv("Attribute Value", typ, value)])]
    return raw_batch(c, version_name, [(enums.Operation.ADD_ATTRIBUTE.value,
                                        [ttlv("Unique Identifier", TEXT, uid)] + fields)])[0]


def attribute_values(c, uid, name):
    _, attrs = c.get_attributes(uid, [name])
    # A primitive's value, or the structure (a Name) itself.
    return [getattr(a.attribute_value, "value", a.attribute_value)
            for a in attrs if a.attribute_name.value == name]


def modify_attribute(c, v, uid, name, value, current=None):
    """PyKMIP's Modify Attribute of a Text String attribute."""
    if v == enums.KMIPVersion.KMIP_2_0:
        tag = enums.convert_attribute_name_to_tag(name)
        kwargs = {"new_attribute": core_objects.NewAttribute(
            attribute=primitives.TextString(value, tag=tag))}
        if current is not None:
            kwargs["current_attribute"] = core_objects.CurrentAttribute(
                attribute=primitives.TextString(current, tag=tag))
        return c.modify_attribute(uid, **kwargs)
    attribute = core_objects.Attribute(
        attribute_name=core_objects.Attribute.AttributeName(name),
        attribute_index=core_objects.Attribute.AttributeIndex(0),
        attribute_value=primitives.TextString(value, tag=enums.Tags.ATTRIBUTE_VALUE))
    return c.modify_attribute(uid, attribute=attribute)


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

    def discover_versions():
        got = c.proxy.discover_versions()
        assert got.result_status.value == enums.ResultStatus.SUCCESS, got.result_reason
        versions = [(pv.major, pv.minor) for pv in got.protocol_versions]
        for want in ((2, 0), (1, 4), (1, 2)):
            assert want in versions, versions
        # Newest first (KMIP 1.4 §4.26).
        assert versions == sorted(versions, reverse=True), versions
    step("Discover Versions", discover_versions)

    def query():
        got = c.proxy.query(query_functions=[enums.QueryFunction.QUERY_OPERATIONS,
                                             enums.QueryFunction.QUERY_OBJECTS])
        assert got.result_status.value == enums.ResultStatus.SUCCESS, got.result_reason
        ops = {enums.Operation(o.value) for o in got.operations}
        for op in (enums.Operation.CREATE, enums.Operation.CREATE_KEY_PAIR,
                   enums.Operation.REGISTER, enums.Operation.LOCATE, enums.Operation.GET,
                   enums.Operation.GET_ATTRIBUTES, enums.Operation.ADD_ATTRIBUTE,
                   enums.Operation.MODIFY_ATTRIBUTE, enums.Operation.DELETE_ATTRIBUTE,
                   enums.Operation.ACTIVATE, enums.Operation.REVOKE,
                   enums.Operation.DESTROY, enums.Operation.ENCRYPT,
                   enums.Operation.DECRYPT, enums.Operation.SIGN,
                   enums.Operation.SIGNATURE_VERIFY, enums.Operation.MAC,
                   enums.Operation.QUERY, enums.Operation.DISCOVER_VERSIONS):
            assert op in ops, (op, ops)
        types = {enums.ObjectType(o.value) for o in got.object_types}
        assert enums.ObjectType.SYMMETRIC_KEY in types, types
    step("Query (operations, objects)", query)

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

    def rsa_sign_verify(priv, pub, public_der):
        """Signs with `priv` over KMIP, verifies over KMIP and locally."""
        params = {"padding_method": enums.PaddingMethod.PSS,
                  "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA,
                  "hashing_algorithm": enums.HashingAlgorithm.SHA_256}
        sig = c.sign(b"signed message", uid=priv, cryptographic_parameters=params)
        assert c.signature_verify(b"signed message", sig, pub, params) == \
            enums.ValidityIndicator.VALID
        assert c.signature_verify(b"signed massage", sig, pub, params) == \
            enums.ValidityIndicator.INVALID
        public = serialization.load_der_public_key(public_der)
        # RFC 8017 §8.1.2, any salt length (KMIP names none).
        public.verify(sig, b"signed message",
                      rsa_padding.PSS(rsa_padding.MGF1(hashes.SHA256()),
                                      rsa_padding.PSS.AUTO), hashes.SHA256())
        return public

    def create_key_pair():
        for bits in (2048, 3072, 4096):
            pub, priv = c.create_key_pair(
                enums.CryptographicAlgorithm.RSA, bits,
                public_name=f"{label}-pub-{bits}", private_name=f"{label}-priv-{bits}",
                public_usage_mask=[enums.CryptographicUsageMask.VERIFY],
                private_usage_mask=[enums.CryptographicUsageMask.SIGN])
            key = c.get(pub)
            assert isinstance(key, objects.PublicKey), type(key)
            assert key.cryptographic_length == bits, key.cryptographic_length
            c.activate(priv)
            c.activate(pub)
            public = rsa_sign_verify(priv, pub, key.value)
            assert public.key_size == bits, public.key_size
            state[("pair", bits)] = (pub, priv)
        # The later steps' pair (activated there).
        pub, priv = c.create_key_pair(
            enums.CryptographicAlgorithm.RSA, 2048,
            public_name=f"{label}-pub", private_name=f"{label}-priv",
            public_usage_mask=[enums.CryptographicUsageMask.VERIFY],
            private_usage_mask=[enums.CryptographicUsageMask.SIGN])
        state["pub"], state["priv"] = pub, priv
    step("Create Key Pair (RSA 2048/3072/4096) + Sign/Verify", create_key_pair)

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

    def add_attribute_step():
        ok = enums.ResultStatus.SUCCESS.value
        status, reason, message, _ = add_attribute(
            c, version_name, uid, "Contact Information", "Contact Information",
            TEXT, "storage-team")
        assert status == ok, (reason, message)
        assert attribute_values(c, uid, "Contact Information") == ["storage-team"]
        assert "Contact Information" in c.get_attribute_list(uid)
        # A second Name (multi-valued): Locate finds the key by it.
        alias = f"{label}-alias"
        status, reason, message, _ = add_attribute(
            c, version_name, state[128], "Name", "Name", STRUCT,
            [ttlv("Name Value", TEXT, alias), ttlv("Name Type", ENUM, 1)])
        assert status == ok, (reason, message)
        assert c.locate(attributes=[name_attribute(alias)]) == [state[128]]
        assert sorted(attribute_values(c, state[128], "Name"),
                      key=lambda n: n.name_value.value)[1].name_value.value == alias
        # Refused, and nothing changes: a single-valued attribute twice, a
        # server-managed one, another adapter's object.
        refusals = [
            (("Contact Information", "Contact Information", TEXT, "again"),
             uid, c, enums.ResultReason.INVALID_FIELD),
            (("State", "State", ENUM, enums.State.ACTIVE.value),
             uid, c, enums.ResultReason.PERMISSION_DENIED),
            (("Contact Information", "Contact Information", TEXT, "bob"),
             uid, bob, enums.ResultReason.ITEM_NOT_FOUND),
        ]
        for (name, tag, typ, value), target, who, want in refusals:
            status, reason, message, _ = add_attribute(who, version_name, target,
                                                       name, tag, typ, value)
            assert status != ok and reason == want.value, (name, reason, message)
        assert attribute_values(c, uid, "Contact Information") == ["storage-team"]
        _, attrs = c.get_attributes(uid, ["State"])
        assert attrs[0].attribute_value.value == enums.State.PRE_ACTIVE
    step("Add Attribute (+ refusals)", add_attribute_step)

    def modify_attribute_step():
        got_uid, _ = modify_attribute(c, v, uid, "Contact Information", "vsan-team",
                                      current="storage-team")
        assert got_uid == uid, got_uid
        assert attribute_values(c, uid, "Contact Information") == ["vsan-team"]
        # Refused, and nothing changes: an attribute the object lacks, a
        # server-managed one.
        expect_failure(lambda: modify_attribute(c, v, state[192], "Contact Information",
                                                "x"),
                       enums.ResultReason.ITEM_NOT_FOUND)
        assert "Contact Information" not in c.get_attribute_list(state[192])
        if v == enums.KMIPVersion.KMIP_2_0:
            managed = core_objects.NewAttribute(attribute=primitives.Integer(
                128, tag=enums.Tags.CRYPTOGRAPHIC_LENGTH))
            expect_failure(lambda: c.modify_attribute(uid, new_attribute=managed),
                           enums.ResultReason.PERMISSION_DENIED)
        else:
            managed = core_objects.Attribute(
                attribute_name=core_objects.Attribute.AttributeName("Cryptographic Length"),
                attribute_index=core_objects.Attribute.AttributeIndex(0),
                attribute_value=primitives.Integer(128, tag=enums.Tags.ATTRIBUTE_VALUE))
            expect_failure(lambda: c.modify_attribute(uid, attribute=managed),
                           enums.ResultReason.PERMISSION_DENIED)
        _, attrs = c.get_attributes(uid, ["Cryptographic Length"])
        assert attrs[0].attribute_value.value == 256
    step("Modify Attribute (+ refusals)", modify_attribute_step)

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
        # Maximum Items cuts the same ordered list (the store's LIMIT).
        assert c.locate(maximum_items=1, attributes=[length]) == by_length[:1]
        assert c.locate(maximum_items=2, attributes=[length]) == by_length[:2]
        assert c.locate(maximum_items=1,
                        attributes=[name_attribute(f"{label}-192")]) == [state[192]]
        symmetric = f.create_attribute(enums.AttributeType.OBJECT_TYPE,
                                       enums.ObjectType.SYMMETRIC_KEY)
        hmac384 = f.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM,
                                     enums.CryptographicAlgorithm.HMAC_SHA384)
        found = c.locate(attributes=[symmetric, hmac384])
        assert state[enums.CryptographicAlgorithm.HMAC_SHA384] in found and uid not in found
        public = f.create_attribute(enums.AttributeType.OBJECT_TYPE,
                                    enums.ObjectType.PUBLIC_KEY)
        found = c.locate(attributes=[public])
        assert state["pub"] in found and state["priv"] not in found and uid not in found
        assert c.locate(attributes=[public, name_attribute(f"{label}-256")]) == []
    step("Locate (name, state, type, algorithm, length, max)", locate)

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
        assert key.key_format_type == enums.KeyFormatType.RAW, key.key_format_type
        state["key"] = key.value
        expect_failure(lambda: bob.get(uid), enums.ResultReason.ITEM_NOT_FOUND)
        # Transparent Symmetric Key (KMIP 1.4 §2.1.7.1): the same bytes.
        status, reason, message, payload = raw_batch(c, version_name, [(
            enums.Operation.GET.value,
            [ttlv("Unique Identifier", TEXT, uid),
             ttlv("Key Format Type", ENUM, enums.KeyFormatType.TRANSPARENT_SYMMETRIC_KEY.value)])])[0]
        assert status == enums.ResultStatus.SUCCESS.value, (reason, message)
        block = field(field(payload, "Symmetric Key"), "Key Block")
        assert field(block, "Key Format Type") == \
            enums.KeyFormatType.TRANSPARENT_SYMMETRIC_KEY.value
        material = field(field(block, "Key Value"), "Key Material")
        assert field(material, "Key") == key.value
        # A format the key cannot take.
        status, reason, _, _ = raw_batch(c, version_name, [(
            enums.Operation.GET.value,
            [ttlv("Unique Identifier", TEXT, uid),
             ttlv("Key Format Type", ENUM, enums.KeyFormatType.PKCS_1.value)])])[0]
        assert reason == enums.ResultReason.KEY_FORMAT_TYPE_NOT_SUPPORTED.value, reason
    step("Get (Raw, Transparent Symmetric Key)", get)

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

    def gcm():
        plain, aad = b"thirty-two bytes of plaintext!!!", b"disk 7, sector 9"
        # A tag the mode does not allow (NIST SP 800-38D §5.2.1.2).
        expect_failure(lambda: c.encrypt(plain, uid, {
            "block_cipher_mode": enums.BlockCipherMode.GCM, "tag_length": 8}),
            enums.ResultReason.INVALID_FIELD)
        if v == enums.KMIPVersion.KMIP_1_2:
            # KMIP 1.2 carries no AAD and no tag (both are 1.4): Encrypt
            # only, checked against AES-GCM with the key read back.
            data, iv = c.encrypt(plain, uid, {"block_cipher_mode": enums.BlockCipherMode.GCM})
            assert len(iv) == 12, iv
            assert AESGCM(state["key"]).encrypt(iv, plain, None)[:32] == data
            return
        for tag_length in (16, 12):
            params = core_attributes.CryptographicParameters(
                block_cipher_mode=enums.BlockCipherMode.GCM, tag_length=tag_length)
            res = c.proxy.send_request_payload(
                enums.Operation.ENCRYPT, payloads.EncryptRequestPayload(
                    unique_identifier=uid, cryptographic_parameters=params,
                    data=plain, auth_additional_data=aad))
            # The server made the IV (96 bits, NIST SP 800-38D §8.2.2).
            assert len(res.iv_counter_nonce) == 12, res.iv_counter_nonce
            assert len(res.data) == 32 and len(res.auth_tag) == tag_length
            # The same ciphertext as AES-GCM with the key read back.
            if tag_length == 16:
                assert AESGCM(state["key"]).decrypt(
                    res.iv_counter_nonce, res.data + res.auth_tag, aad) == plain

            def decrypt(data=res.data, tag=res.auth_tag, aad=aad):
                return c.proxy.send_request_payload(
                    enums.Operation.DECRYPT, payloads.DecryptRequestPayload(
                        unique_identifier=uid, cryptographic_parameters=params,
                        data=data, iv_counter_nonce=res.iv_counter_nonce,
                        auth_additional_data=aad, auth_tag=tag)).data
            assert decrypt() == plain
            for bad in ({"aad": b"disk 7, sector 8"},
                        {"tag": bytes([res.auth_tag[0] ^ 1]) + res.auth_tag[1:]},
                        {"data": bytes([res.data[0] ^ 1]) + res.data[1:]}):
                try:
                    decrypt(**bad)
                except core_exceptions.OperationFailure as e:
                    # One failure for every forgery (KMIP 1.4 §11.21).
                    assert e.reason == enums.ResultReason.CRYPTOGRAPHIC_FAILURE, (bad, e)
                else:
                    raise AssertionError(f"{bad} decrypted")
    step("Encrypt/Decrypt AES-GCM (tag 16/12, AAD, server IV)", gcm)

    def cbc():
        params = {"block_cipher_mode": enums.BlockCipherMode.CBC,
                  "padding_method": enums.PaddingMethod.PKCS5}
        data, iv = c.encrypt(b"seventeen bytes!!", state[128], params)
        assert len(data) == 32 and len(iv) == 16, (len(data), iv)
        plain = c.decrypt(data, state[128], params, iv_counter_nonce=iv)
        assert plain == b"seventeen bytes!!", plain
        # AES-CBC with PKCS#5 padding and the key read back.
        local = Cipher(algorithms.AES(c.get(state[128]).value), modes.CBC(iv)).decryptor()
        unpad = sym_padding.PKCS7(128).unpadder()
        assert unpad.update(local.update(data) + local.finalize()) + unpad.finalize() == \
            b"seventeen bytes!!"
        # A ciphertext that is not whole blocks: always the one failure.
        expect_failure(lambda: c.decrypt(data[:15], state[128], params,
                                         iv_counter_nonce=iv),
                       enums.ResultReason.CRYPTOGRAPHIC_FAILURE)
    step("Encrypt/Decrypt AES-CBC PKCS#5 (server IV)", cbc)

    def mac():
        got_uid, mac_data = c.mac(b"message", state[enums.CryptographicAlgorithm.HMAC_SHA384],
                                  enums.CryptographicAlgorithm.HMAC_SHA384)
        assert len(mac_data) == 48, len(mac_data)
        h = crypto_hmac.HMAC(c.get(state[enums.CryptographicAlgorithm.HMAC_SHA384]).value,
                             hashes.SHA384())
        h.update(b"message")
        assert mac_data == h.finalize()
        got_uid, mac_data = c.mac(b"message", uid, enums.CryptographicAlgorithm.HMAC_SHA256)
        assert got_uid == uid and len(mac_data) == 32
        h = crypto_hmac.HMAC(state["key"], hashes.SHA256())
        h.update(b"message")
        assert mac_data == h.finalize()
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
    step("Register (secret data, AES key)", register)

    def register_rsa():
        local = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_der = local.private_bytes(serialization.Encoding.DER,
                                          serialization.PrivateFormat.TraditionalOpenSSL,
                                          serialization.NoEncryption())
        public_der = local.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        priv = c.register(objects.PrivateKey(enums.CryptographicAlgorithm.RSA, 2048,
                                             private_der, enums.KeyFormatType.PKCS_1))
        pub = c.register(objects.PublicKey(enums.CryptographicAlgorithm.RSA, 2048,
                                           public_der, enums.KeyFormatType.X_509))
        got = c.get(pub)
        assert isinstance(got, objects.PublicKey) and got.value == public_der
        assert got.cryptographic_length == 2048, got.cryptographic_length
        assert isinstance(c.get(priv), objects.PrivateKey)
        c.activate(priv)
        c.activate(pub)
        # Signed with the registered private key, verified with the
        # registered public key and locally.
        rsa_sign_verify(priv, pub, public_der)
        # PKCS#1 v1.5 signed locally, verified over KMIP.
        params = {"digital_signature_algorithm":
                  enums.DigitalSignatureAlgorithm.SHA256_WITH_RSA_ENCRYPTION}
        sig = local.sign(b"signed here", rsa_padding.PKCS1v15(), hashes.SHA256())
        assert c.signature_verify(b"signed here", sig, pub, params) == \
            enums.ValidityIndicator.VALID
        assert c.sign(b"signed here", uid=priv, cryptographic_parameters=params) == sig
        expect_failure(lambda: bob.get(priv), enums.ResultReason.ITEM_NOT_FOUND)
    step("Register RSA public + private, Sign/Verify", register_rsa)

    def batch():
        def attribute_list(u):
            return (enums.Operation.GET_ATTRIBUTE_LIST.value,
                    [ttlv("Unique Identifier", TEXT, u)])
        items = [attribute_list(uid), attribute_list("no-such-object"),
                 attribute_list(state[128])]
        ok, failed = enums.ResultStatus.SUCCESS.value, enums.ResultStatus.OPERATION_FAILED.value
        # Continue (KMIP 1.4 §6.7): every item is answered.
        got = raw_batch(c, version_name, items,
                        continuation=enums.BatchErrorContinuationOption.CONTINUE.value)
        assert [a[0] for a in got] == [ok, failed, ok], got
        assert got[1][1] == enums.ResultReason.ITEM_NOT_FOUND.value, got
        # Stop, and the default: nothing after the failure.
        for option in (enums.BatchErrorContinuationOption.STOP.value, None):
            got = raw_batch(c, version_name, items, continuation=option)
            assert [a[0] for a in got] == [ok, failed], (option, got)
    step("Batch with error continuation (Continue, Stop)", batch)

    def disable_enable():
        inst, crk = env["instance"], env["a"]["crk"]
        adapter = env["a"]["adapter"]

        def object_count():
            _, listed = srv.request("GET", f"/api/v2/kmip_adapters/{adapter}/kmip_objects"
                                    "?limit=5000&state=1,2,3,4,5,6", instance=inst, expect=200)
            return len(listed["resources"])
        before = object_count()
        srv.request("POST", f"/api/v2/keys/{crk}/actions/disable", instance=inst, expect=204)
        # No new object under a disabled root key (keyprotect-api.md §13).
        expect_failure(lambda: c.create(enums.CryptographicAlgorithm.AES, 128),
                       wrong_state)
        expect_failure(lambda: c.create_key_pair(enums.CryptographicAlgorithm.RSA, 2048),
                       wrong_state)
        expect_failure(lambda: c.register(objects.SecretData(
            b"s3cret", enums.SecretDataType.PASSWORD)), wrong_state)
        assert object_count() == before
        expect_failure(lambda: c.get(uid), wrong_state)
        expect_failure(lambda: c.encrypt(b"x" * 16, uid,
                                         {"block_cipher_mode": enums.BlockCipherMode.GCM}),
                       wrong_state)
        # Enabling waits 30 s after a disable (keyprotect-api.md §16).
        srv.request("POST", "/_test/clock/advance", {"seconds": 31}, expect=204)
        srv.request("POST", f"/api/v2/keys/{crk}/actions/enable", instance=inst, expect=204)
        assert len(c.get(uid).value) == 32
        c.encrypt(b"x" * 16, uid, {"block_cipher_mode": enums.BlockCipherMode.GCM})
        c.create(enums.CryptographicAlgorithm.AES, 128)
        assert object_count() == before + 1
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
