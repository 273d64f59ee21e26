"""The seed's Kubernetes walkthrough, end to end and in order, on one root
key: what an operator does (docs/integrations/kubernetes.md) and what the
cluster then sees through the plugin's socket, as kube-apiserver would
(grpcio on the project's proto).

  1. a server, an instance, a root key, a service id of type kubernetes
     with an API key, authorized Reader on the instance;
  2. the plugin: Status, Encrypt, Decrypt;
  3. the key's registrations name the cluster the plugin registered;
  4. disable the key: Encrypt fails with a clear message, Status unhealthy;
  5. enable it: everything works again;
  6. rotate it: new data uses the new version, old data still decrypts;
  7. delete it: the data can no longer be recovered.

test_kms_plugin.py covers each behaviour on its own (bad inputs, the
socket, flags, concurrency); this file checks that they hold together, in
the order the seed tells them.
"""
import json
import os
import tempfile
import unittest
import urllib.parse
import urllib.request

import grpc

import kwtest

CLUSTER = "walkthrough"


class KubernetesWalkthroughTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gen = tempfile.TemporaryDirectory(prefix="kw-kms-proto-")
        cls.pb, cls.pb_grpc = kwtest.compile_proto(cls.gen.name)
        cls.server = kwtest.Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.gen.cleanup()

    # --- helpers -----------------------------------------------------------

    def status(self):
        return self.stub.Status(self.pb.StatusRequest(), timeout=30)

    def encrypt(self, plaintext):
        return self.stub.Encrypt(self.pb.EncryptRequest(plaintext=plaintext, uid="enc"),
                                 timeout=30)

    def decrypt(self, enc):
        return self.stub.Decrypt(
            self.pb.DecryptRequest(ciphertext=enc.ciphertext, uid="dec", key_id=enc.key_id,
                                   annotations=dict(enc.annotations)),
            timeout=30).plaintext

    def refused(self, fn):
        """The gRPC error that `fn` must end with."""
        with self.assertRaises(grpc.RpcError) as cm:
            fn()
        return cm.exception

    def service_wrap(self, apikey, instance, key_id):
        """A wrap as the service id itself (its own IAM token), for step 1."""
        form = urllib.parse.urlencode({
            "grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": apikey})
        req = urllib.request.Request(self.server.url + "/identity/token", data=form.encode(),
                                     method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        with urllib.request.urlopen(req, timeout=30) as res:
            token = json.loads(res.read().decode())["access_token"]
        return self.server.request("POST", "/api/v2/keys/%s/actions/wrap" % key_id,
                                   {"plaintext": "AAAAAAAAAAAAAAAAAAAAAA=="},
                                   token=token, instance=instance)

    def current_version(self, instance, key_id):
        return self.server.key(instance, key_id)["keyVersion"]["id"]

    # --- the walkthrough -----------------------------------------------------

    def test_walkthrough(self):
        server = self.server

        # 1. An instance, a root key, a service id of type kubernetes with an
        #    API key; the service is authorized Reader on the instance.
        instance = server.ok("POST", "/admin/v1/instances", {"name": "cluster-secrets"})["id"]
        key = server.root_key(instance, name="k8s-secrets")
        key_id = key["id"]
        sid = server.ok("POST", "/admin/v1/service_ids",
                        {"name": "cluster-" + CLUSTER, "serviceType": "kubernetes"})
        self.assertEqual(sid["serviceType"], "kubernetes")
        apikey = server.ok("POST", "/admin/v1/api_keys",
                           {"principalId": sid["id"], "name": "kms-plugin"})["apikey"]
        status, answer = self.service_wrap(apikey, instance, key_id)
        self.assertEqual(status, 403, answer)  # nothing granted yet
        server.ok("POST", "/admin/v1/authorizations",
                  {"sourceServiceId": sid["id"], "instanceId": instance, "role": "Reader"})
        status, answer = self.service_wrap(apikey, instance, key_id)
        self.assertEqual(status, 200, answer)

        # 2. The plugin, as the kubelet-managed static pod would run it, and
        #    the three calls kube-apiserver makes. --health-cache 0: every
        #    Status probes the key (no waiting for the cache to expire).
        plugin = kwtest.Plugin(server, instance, key_id, apikey,
                               "--cluster-name", CLUSTER, "--health-cache", "0")
        self.addCleanup(plugin.stop)
        channel = grpc.insecure_channel("unix://" + plugin.socket)
        self.addCleanup(channel.close)
        self.stub = self.pb_grpc.KeyManagementServiceStub(channel)

        v1 = "%s:%s" % (key_id, key["keyVersion"]["id"])
        st = self.status()
        self.assertEqual((st.version, st.healthz, st.key_id), ("v2", "ok", v1))
        seed1 = os.urandom(32)
        enc1 = self.encrypt(seed1)
        self.assertEqual(enc1.key_id, v1)
        self.assertNotIn(seed1, enc1.ciphertext)
        self.assertEqual(self.decrypt(enc1), seed1)

        # 3. The key's registrations name the protected resource: the
        #    cluster's CRN, which the plugin registered at start.
        crn = ("crn:v1:keywarden:private:containers-kubernetes:local:a/%s:%s::"
               % (instance, CLUSTER))
        regs = server.ok("GET", "/api/v2/keys/%s/registrations" % key_id, instance=instance)
        self.assertEqual([r["resourceCrn"] for r in regs.get("resources", [])], [crn])

        # 4. Disable the key: the cluster can no longer make or open DEKs,
        #    the error says why, and the health check shows it.
        server.action(instance, key_id, "disable")
        err = self.refused(lambda: self.encrypt(os.urandom(32)))
        self.assertEqual(err.code(), grpc.StatusCode.FAILED_PRECONDITION, err.details())
        self.assertIn("KEY_ACTION_INVALID_STATE_ERR", err.details())
        self.assertIn("is disabled: enable it", err.details())
        self.assertNotIn(apikey, err.details())
        err = self.refused(lambda: self.decrypt(enc1))
        self.assertEqual(err.code(), grpc.StatusCode.FAILED_PRECONDITION, err.details())
        st = self.status()
        self.assertEqual(st.version, "v2")
        self.assertNotEqual(st.healthz, "ok")
        self.assertIn("is disabled", st.healthz)

        # 5. Enable it (Key Protect waits 30 s after a state change; the
        #    test clock is moved instead): everything works again.
        server.advance_clock(31)
        server.action(instance, key_id, "enable")
        st = self.status()
        self.assertEqual((st.healthz, st.key_id), ("ok", v1))
        self.assertEqual(self.decrypt(enc1), seed1)
        seed2 = os.urandom(32)
        enc2 = self.encrypt(seed2)
        self.assertEqual(enc2.key_id, v1)
        self.assertEqual(self.decrypt(enc2), seed2)

        # 6. Rotate it: Status names the new version (the apiserver then
        #    makes a new DEK), new data is wrapped under it, old data still
        #    decrypts.
        server.action(instance, key_id, "rotate")
        v2 = "%s:%s" % (key_id, self.current_version(instance, key_id))
        self.assertNotEqual(v2, v1)
        st = self.status()
        self.assertEqual((st.healthz, st.key_id), ("ok", v2))
        seed3 = os.urandom(32)
        enc3 = self.encrypt(seed3)
        self.assertEqual(enc3.key_id, v2)
        for enc, seed in ((enc1, seed1), (enc2, seed2), (enc3, seed3)):
            self.assertEqual(self.decrypt(enc), seed)

        # 7. Delete it. The cluster's registration protects the key: a plain
        #    delete is refused, naming the reason; forced, the key is
        #    destroyed and no DEK it wrapped can be recovered, whatever its
        #    version.
        status, answer = server.request("DELETE", "/api/v2/keys/%s" % key_id,
                                        instance=instance)
        self.assertEqual(status, 409, answer)
        self.assertIn("PROTECTED_RESOURCE_ERR", str(answer))
        status, answer = server.request("DELETE", "/api/v2/keys/%s?force=true" % key_id,
                                        instance=instance)
        self.assertIn(status, (200, 204), answer)
        for enc in (enc1, enc2, enc3):
            err = self.refused(lambda: self.decrypt(enc))
            self.assertEqual(err.code(), grpc.StatusCode.FAILED_PRECONDITION, err.details())
            self.assertIn("is deleted: the data it protected cannot be recovered",
                          err.details())
        err = self.refused(lambda: self.encrypt(os.urandom(32)))
        self.assertIn("is deleted", err.details())
        st = self.status()
        self.assertNotEqual(st.healthz, "ok")
        self.assertIn("is deleted", st.healthz)


if __name__ == "__main__":
    unittest.main()
