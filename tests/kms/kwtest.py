"""Test harness for the integrations: the real keywarden binary as a server
(port 0, a fresh data dir, --test-clock) and as a KMS plugin (a Unix socket
in a temp dir), driven over HTTP with urllib and over gRPC with grpcio.

Nothing sleeps for a timer: the server's clock is moved with
POST /_test/clock/advance; processes are waited for by their log lines.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START_TIMEOUT = float(os.environ.get("KEYWARDEN_START_TIMEOUT_S", "60"))


def binary():
    if os.environ.get("KEYWARDEN_BIN"):
        return os.path.abspath(os.environ["KEYWARDEN_BIN"])
    for rel in ("build-asan/keywarden", "build/keywarden"):
        p = os.path.join(REPO, rel)
        if os.path.exists(p):
            return p
    raise RuntimeError("keywarden binary not found: build it or set KEYWARDEN_BIN")


def compile_proto(out_dir):
    """Generates the Python code of the plugin's proto (grpc_tools) and
    imports it."""
    from grpc_tools import protoc
    proto_dir = os.path.join(REPO, "src", "keywarden", "integrations", "k8s_kms")
    rc = protoc.main(["protoc", "-I" + proto_dir, "--python_out=" + out_dir,
                      "--grpc_python_out=" + out_dir,
                      os.path.join(proto_dir, "kms_v2.proto")])
    if rc != 0:
        raise RuntimeError("grpc_tools.protoc failed on kms_v2.proto")
    sys.path.insert(0, out_dir)
    import kms_v2_pb2
    import kms_v2_pb2_grpc
    return kms_v2_pb2, kms_v2_pb2_grpc


class Process:
    """A child process whose stderr is collected; wait_for() blocks until a
    line matches (or the process ends, or the timeout passes)."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        self.proc.stderr.close()
        with self.cond:
            self.lines.append(None)
            self.cond.notify_all()

    def wait_for(self, pattern, timeout=START_TIMEOUT):
        rx = re.compile(pattern)
        seen = 0
        with self.cond:
            while True:
                while seen < len(self.lines):
                    line = self.lines[seen]
                    seen += 1
                    if line is None:
                        raise RuntimeError("process exited before printing %r:\n%s"
                                           % (pattern, self.log()))
                    m = rx.search(line)
                    if m:
                        return m
                if not self.cond.wait(timeout):
                    raise RuntimeError("no %r within %ss:\n%s" % (pattern, timeout, self.log()))

    def log(self):
        return "".join(l for l in self.lines if l)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="kw-kms-test-")
        self.token = "kw-test-" + os.urandom(16).hex()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYWARDEN_")}
        env["KEYWARDEN_ADMIN_TOKEN"] = self.token
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        self.proc = Process([binary(), "server", "--data-dir", os.path.join(self.dir, "data"),
                             "--listen", "127.0.0.1:0", "--test-clock"], env)
        self.url = self.proc.wait_for(r"listening on (http://[0-9.:]+)").group(1)

    def close(self):
        self.proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, method, path, body=None, token=None, instance=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + (token or self.token))
        if instance:
            req.add_header("Bluemix-Instance", instance)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                text = res.read().decode()
                return res.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            return e.code, (json.loads(text) if text else None)

    def ok(self, method, path, body=None, **kw):
        status, answer = self.request(method, path, body, **kw)
        if status // 100 != 2:
            raise AssertionError("%s %s -> %s %s" % (method, path, status, answer))
        return answer

    def tenant(self, service_type="kubernetes"):
        """An instance and a service id of `service_type` with an API key,
        authorized Reader on the instance (the seed's "grant access")."""
        instance = self.ok("POST", "/admin/v1/instances", {"name": "k8s"})["id"]
        sid = self.ok("POST", "/admin/v1/service_ids",
                      {"name": "cluster", "serviceType": service_type})["id"]
        apikey = self.ok("POST", "/admin/v1/api_keys",
                         {"principalId": sid, "name": "plugin"})["apikey"]
        self.ok("POST", "/admin/v1/authorizations",
                {"sourceServiceId": sid, "instanceId": instance, "role": "Reader"})
        return instance, apikey

    def root_key(self, instance, name="k8s-root"):
        body = {"metadata": {"collectionType": "application/vnd.ibm.kms.key+json",
                             "collectionTotal": 1},
                "resources": [{"type": "application/vnd.ibm.kms.key+json",
                               "name": name, "extractable": False}]}
        answer = self.ok("POST", "/api/v2/keys", body, instance=instance,
                         headers={"Prefer": "return=representation"})
        return answer["resources"][0]

    def key(self, instance, key_id):
        return self.ok("GET", "/api/v2/keys/%s/metadata" % key_id, instance=instance)["resources"][0]

    def action(self, instance, key_id, action):
        return self.ok("POST", "/api/v2/keys/%s/actions/%s" % (key_id, action), {},
                       instance=instance)

    def advance_clock(self, seconds):
        self.ok("POST", "/_test/clock/advance", {"seconds": seconds})


class Plugin:
    """`keywarden kms-plugin` on a socket in a temp dir."""

    def __init__(self, server, instance, key_id, apikey, *extra):
        self.dir = tempfile.mkdtemp(prefix="kw-kms-sock-")
        self.socket = os.path.join(self.dir, "kms.sock")
        keyfile = os.path.join(self.dir, "apikey")
        fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (apikey + "\n").encode())
        os.close(fd)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYWARDEN_")}
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        self.proc = Process([binary(), "kms-plugin", "--listen", "unix://" + self.socket,
                             "--addr", server.url, "--instance", instance, "--key", key_id,
                             "--apikey-file", keyfile, *extra], env)
        self.proc.wait_for(r"kms-plugin: listening on")

    def stop(self):
        code = self.proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        return code
