"""`keywarden kms-plugin` driven the way kube-apiserver drives a KMS v2
plugin: gRPC over its Unix socket, with the project's proto compiled for
Python at test time (grpcio + grpc_tools), against a real server."""
import concurrent.futures
import os
import signal
import stat
import tempfile
import unittest

import grpc

import kwtest

pb = pb_grpc = None


def setUpModule():
    global pb, pb_grpc, GEN
    GEN = tempfile.TemporaryDirectory(prefix="kw-kms-proto-")
    pb, pb_grpc = kwtest.compile_proto(GEN.name)


def tearDownModule():
    GEN.cleanup()


class KmsPluginTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = kwtest.Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def start(self, *extra):
        """A fresh instance, root key, service id and plugin for one test."""
        instance, apikey = self.server.tenant()
        key = self.server.root_key(instance)
        if "--health-cache" not in extra:
            extra = ("--health-cache", "0") + extra
        plugin = kwtest.Plugin(self.server, instance, key["id"], apikey,
                               "--cluster-name", "test-cluster", *extra)
        self.addCleanup(plugin.stop)
        channel = grpc.insecure_channel("unix://" + plugin.socket)
        self.addCleanup(channel.close)
        return instance, key, plugin, pb_grpc.KeyManagementServiceStub(channel)

    def encrypt(self, stub, plaintext, uid="u1"):
        return stub.Encrypt(pb.EncryptRequest(plaintext=plaintext, uid=uid), timeout=30)

    def decrypt(self, stub, enc, uid="u2"):
        return stub.Decrypt(pb.DecryptRequest(ciphertext=enc.ciphertext, uid=uid,
                                              key_id=enc.key_id,
                                              annotations=dict(enc.annotations)),
                            timeout=30).plaintext

    def assertCode(self, code, fn):
        with self.assertRaises(grpc.RpcError) as cm:
            fn()
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        return cm.exception

    def test_status_encrypt_decrypt(self):
        instance, key, plugin, stub = self.start()
        status = stub.Status(pb.StatusRequest(), timeout=30)
        self.assertEqual(status.version, "v2")
        self.assertEqual(status.healthz, "ok")
        self.assertEqual(status.key_id, "%s:%s" % (key["id"], key["keyVersion"]["id"]))
        seed = os.urandom(32)
        enc = self.encrypt(stub, seed)
        self.assertEqual(enc.key_id, status.key_id)
        self.assertLessEqual(len(enc.ciphertext), 1024)
        self.assertNotIn(seed, enc.ciphertext)
        self.assertEqual(dict(enc.annotations), {"format.kms.keywarden.dev": b"wdek-1"})
        self.assertEqual(self.decrypt(stub, enc), seed)

    def test_socket_is_private_and_the_cluster_is_registered(self):
        instance, key, plugin, stub = self.start()
        mode = stat.S_IMODE(os.stat(plugin.socket).st_mode)
        self.assertEqual(mode, 0o600)
        regs = self.server.ok("GET", "/api/v2/keys/%s/registrations" % key["id"],
                              instance=instance)
        crns = [r["resourceCrn"] for r in regs.get("resources", [])]
        self.assertEqual(crns, ["crn:v1:keywarden:private:containers-kubernetes:local:a/%s:test-cluster::"
                                % instance])

    def test_socket_mode_flag(self):
        instance, key, plugin, stub = self.start("--socket-mode", "0660")
        self.assertEqual(stat.S_IMODE(os.stat(plugin.socket).st_mode), 0o660)

    def test_rotation_changes_key_id_and_old_ciphertexts_decrypt(self):
        instance, key, plugin, stub = self.start()
        before = stub.Status(pb.StatusRequest(), timeout=30).key_id
        seed = os.urandom(32)
        old = self.encrypt(stub, seed)
        self.server.action(instance, key["id"], "rotate")
        after = stub.Status(pb.StatusRequest(), timeout=30).key_id
        self.assertNotEqual(after, before)
        new_version = self.server.key(instance, key["id"])["keyVersion"]["id"]
        self.assertEqual(after, "%s:%s" % (key["id"], new_version))
        new = self.encrypt(stub, seed)
        self.assertEqual(new.key_id, after)
        self.assertEqual(self.decrypt(stub, old), seed)
        self.assertEqual(self.decrypt(stub, new), seed)

    def test_disable_makes_it_unhealthy_and_enable_heals_it(self):
        instance, key, plugin, stub = self.start()
        seed = os.urandom(32)
        enc = self.encrypt(stub, seed)
        self.server.action(instance, key["id"], "disable")
        status = stub.Status(pb.StatusRequest(), timeout=30)
        self.assertEqual(status.version, "v2")
        self.assertNotEqual(status.healthz, "ok")
        self.assertIn("KEY_ACTION_INVALID_STATE_ERR", status.healthz)
        self.assertCode(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.encrypt(stub, seed))
        self.assertCode(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.decrypt(stub, enc))
        self.server.advance_clock(31)  # enable waits 30 s after a state change
        self.server.action(instance, key["id"], "enable")
        self.assertEqual(stub.Status(pb.StatusRequest(), timeout=30).healthz, "ok")
        self.assertEqual(self.decrypt(stub, self.encrypt(stub, seed)), seed)
        self.assertEqual(self.decrypt(stub, enc), seed)

    def test_status_probe_is_cached(self):
        instance, key, plugin, stub = self.start("--health-cache", "3600")
        self.assertEqual(stub.Status(pb.StatusRequest(), timeout=30).healthz, "ok")
        self.server.action(instance, key["id"], "disable")
        # Within the cache time the probe is not repeated; Encrypt, which
        # calls the server, fails at once.
        self.assertEqual(stub.Status(pb.StatusRequest(), timeout=30).healthz, "ok")
        self.assertCode(grpc.StatusCode.FAILED_PRECONDITION,
                        lambda: self.encrypt(stub, b"x" * 32))

    def test_bad_inputs_get_clean_errors(self):
        instance, key, plugin, stub = self.start()
        invalid = grpc.StatusCode.INVALID_ARGUMENT
        self.assertCode(invalid, lambda: self.encrypt(stub, b""))
        self.assertCode(invalid, lambda: self.encrypt(stub, os.urandom(513)))
        self.assertCode(grpc.StatusCode.RESOURCE_EXHAUSTED,
                        lambda: self.encrypt(stub, os.urandom(100 * 1024)))

        def dec(ciphertext, key_id="k", annotations=None):
            return stub.Decrypt(pb.DecryptRequest(ciphertext=ciphertext, key_id=key_id,
                                                  annotations=annotations or {}),
                                timeout=30)
        self.assertCode(invalid, lambda: dec(b""))
        self.assertCode(invalid, lambda: dec(os.urandom(1025)))
        self.assertCode(invalid, lambda: dec(b"garbage"))
        self.assertCode(invalid, lambda: dec(os.urandom(200)))
        enc = self.encrypt(stub, os.urandom(32))
        for i in range(0, len(enc.ciphertext), 7):
            flipped = bytearray(enc.ciphertext)
            flipped[i] ^= 0x01
            e = self.assertCode(invalid, lambda: dec(bytes(flipped), enc.key_id,
                                                     dict(enc.annotations)))
            self.assertNotIn("Traceback", e.details())
        self.assertCode(invalid, lambda: dec(enc.ciphertext[:-1], enc.key_id))
        self.assertCode(invalid, lambda: dec(enc.ciphertext, "k" * 1025))
        self.assertCode(invalid, lambda: dec(enc.ciphertext, enc.key_id, {"Not A Domain": b"x"}))
        self.assertCode(invalid, lambda: dec(enc.ciphertext, enc.key_id,
                                             {"a.b": b"x" * (32 * 1024)}))
        # A WDEK of the same root key made for another purpose (other aad).
        foreign = self.server.ok("POST", "/api/v2/keys/%s/actions/wrap" % key["id"],
                                 {"plaintext": "AAAAAAAAAAAAAAAAAAAAAA=="}, instance=instance)
        import base64
        self.assertCode(invalid, lambda: dec(base64.b64decode(foreign["ciphertext"]), enc.key_id))
        # The plugin is still healthy and working after all that.
        self.assertEqual(stub.Status(pb.StatusRequest(), timeout=30).healthz, "ok")
        self.assertEqual(len(self.decrypt(stub, enc)), 32)

    def test_a_hundred_concurrent_calls(self):
        instance, key, plugin, stub = self.start()
        seeds = [os.urandom(32) for _ in range(50)]
        encs = [self.encrypt(stub, s) for s in seeds[:10]]

        def call(i):
            if i % 2 == 0:
                enc = self.encrypt(stub, seeds[i // 2], uid="e%d" % i)
                return self.decrypt(stub, enc) == seeds[i // 2]
            return self.decrypt(stub, encs[i % 10]) == seeds[i % 10]
        with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
            results = list(pool.map(call, range(100)))
        self.assertEqual(results, [True] * 100)

    def test_sigterm_stops_cleanly_and_removes_the_socket(self):
        instance, apikey = self.server.tenant()
        key = self.server.root_key(instance)
        plugin = kwtest.Plugin(self.server, instance, key["id"], apikey)
        self.assertTrue(os.path.exists(plugin.socket))
        code = plugin.proc.stop(signal.SIGTERM)
        self.assertEqual(code, 0, plugin.proc.log())
        self.assertFalse(os.path.exists(plugin.socket))
        plugin.stop()

    def test_refuses_a_socket_in_use_and_bad_flags(self):
        instance, key, plugin, stub = self.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYWARDEN_")}
        env["KEYWARDEN_APIKEY"] = "unused"
        second = kwtest.Process([kwtest.binary(), "kms-plugin", "--listen",
                                 "unix://" + plugin.socket, "--addr", self.server.url,
                                 "--instance", instance, "--key", key["id"]], env)
        self.assertNotEqual(second.proc.wait(60), 0)
        self.assertIn("in use", second.log())
        # The first one still answers.
        self.assertEqual(stub.Status(pb.StatusRequest(), timeout=30).healthz, "ok")
        common = ["--addr", self.server.url, "--instance", instance, "--key", key["id"]]
        for bad in (["--listen", "tcp://127.0.0.1:1"],
                    ["--listen", "unix://relative.sock"],
                    ["--listen", "unix:///tmp/kw-x.sock", "--socket-mode", "rw"],
                    ["--listen", "unix:///tmp/kw-x.sock", "--health-cache", "-1"],
                    ["--listen", "unix:///tmp/kw-x.sock", "--concurrency", "0"]):
            p = kwtest.Process([kwtest.binary(), "kms-plugin", *bad, *common], env)
            self.assertEqual(p.proc.wait(60), 2, p.log())

    def test_no_api_key_is_a_usage_error(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYWARDEN_")}
        p = kwtest.Process([kwtest.binary(), "kms-plugin", "--listen", "unix:///tmp/x.sock",
                            "--addr", self.server.url, "--instance", "i", "--key", "k"], env)
        self.assertEqual(p.proc.wait(60), 2)
        self.assertIn("no API key", p.log())

    def test_api_key_file_readable_by_others_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            keyfile = os.path.join(d, "apikey")
            with open(keyfile, "w") as f:
                f.write("kwk_secret_value")
            os.chmod(keyfile, 0o644)
            env = {k: v for k, v in os.environ.items() if not k.startswith("KEYWARDEN_")}
            p = kwtest.Process([kwtest.binary(), "kms-plugin", "--listen",
                                "unix://" + os.path.join(d, "s.sock"), "--addr", self.server.url,
                                "--instance", "i", "--key", "k", "--apikey-file", keyfile], env)
            self.assertEqual(p.proc.wait(60), 2)
            self.assertIn("chmod 600", p.log())
            self.assertNotIn("kwk_secret_value", p.log())


if __name__ == "__main__":
    unittest.main()
