#!/usr/bin/python3
"""Runs the walkthrough of docs/integrations/kmip.md against the real server.

Usage: kmip_doc_walkthrough_test.py KEYWARDEN_BINARY [DOC]

The page's walkthrough lies between `<!-- walkthrough-begin -->` and
`<!-- walkthrough-end -->`. Every `sh` and `python` block there must be
preceded by a marker line `<!-- walkthrough: DIRECTIVES -->`, DIRECTIVES
being comma-separated:

  run             run the sh block with `bash -euo pipefail`
  server          run the sh block in the background: it starts keywarden
  file NAME       write the python block to NAME (a later block runs it)
  expect "TEXT"   the block's stdout must contain TEXT
  after 30 s      advance the server's clock by 31 s before the block

The blocks run in order in a temporary directory (removed afterwards), with
the shell variables of each block (arrays too) carried to the next, and the
binary's directory first on PATH so that `keywarden` is the one under test.
Three changes are made, all about ports and time: the server block listens
on port 0 and gets `--test-clock`; the ports it reports replace 8080 and
5696 in every later block and file; "after 30 s" is POST
/_test/clock/advance instead of a wait.

The page's operations table must list exactly the operations of
src/keywarden/api/kmip/protocol.cc (kOperations) with their versions, and its
limits must be those of the source. Exits non-zero on any failure.
"""

import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MARKER = re.compile(r"<!--\s*walkthrough:\s*(.*?)\s*-->")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
HTTP = "127.0.0.1:8080"
KMIP = re.compile(r"\b5696\b")
STEP_TIMEOUT = 60


class Step:
    def __init__(self, line, lang, body, directives):
        self.line, self.lang, self.body = line, lang, body
        self.run = self.server = self.after_30s = False
        self.file = None
        self.expect = []
        for m in re.finditer(r'expect\s+"([^"]*)"', directives):
            self.expect.append(m.group(1))
        rest = re.sub(r'expect\s+"[^"]*"', "", directives)
        for d in (x.strip() for x in rest.split(",")):
            if d == "run":
                self.run = True
            elif d == "server":
                self.server = True
            elif d == "after 30 s":
                self.after_30s = True
            elif d.startswith("file "):
                self.file = d[5:].strip()
            elif d:
                raise ValueError(f"line {line}: unknown walkthrough directive {d!r}")
        wanted = {"sh": self.run or self.server, "python": self.file is not None}
        if not wanted[lang] or (lang == "sh" and self.file) or (self.run and self.server):
            raise ValueError(f"line {line}: directives {directives!r} do not fit a {lang} block")


def parse(doc):
    begin = doc.index("<!-- walkthrough-begin -->")
    end = doc.index("<!-- walkthrough-end -->")
    steps = []
    for m in FENCE.finditer(doc, begin, end):
        lang = m.group(1)
        line = doc.count("\n", 0, m.start()) + 1
        if lang not in ("sh", "python"):
            continue
        before = doc[:m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        marker = MARKER.fullmatch(before)
        if marker is None:
            raise ValueError(f"line {line}: a {lang} block of the walkthrough has no "
                             "<!-- walkthrough: ... --> marker on the line before it")
        steps.append(Step(line, lang, m.group(2), marker.group(1)))
    if not any(s.server for s in steps):
        raise ValueError("the walkthrough starts no server")
    return steps


def check_reference(doc):
    """The operations table and the limits agree with the source."""
    with open(os.path.join(ROOT, "src/keywarden/api/kmip/protocol.cc")) as f:
        protocol = f.read()
    table = protocol[protocol.index("kOperations[] = {"):]
    table = table[:table.index("};")]
    source_ops = {}
    for name, major, minor in re.findall(r"Operation::k(\w+), \{(\d+), (\d+)\}", table):
        words = "MAC" if name == "Mac" else re.sub(r"(?<!^)(?=[A-Z])", " ", name)
        source_ops[words] = f"{major}.{minor}"
    section = doc[doc.index("### Versions and operations"):doc.index("### Limits")]
    doc_ops = dict(re.findall(r"^\| ([A-Za-z ]+?) \| (\d\.\d) \|", section, re.M))
    if doc_ops != source_ops:
        raise AssertionError(f"operations table differs from protocol.cc:\n"
                             f"  only in the doc: {sorted(set(doc_ops.items()) - set(source_ops.items()))}\n"
                             f"  only in protocol.cc: {sorted(set(source_ops.items()) - set(doc_ops.items()))}")
    with open(os.path.join(ROOT, "src/keywarden/service/kmip_adapters.h")) as f:
        header = f.read()
    adapters = re.search(r"kMaxKmipAdapters = (\d+);", header).group(1)
    certificates = re.search(r"kMaxKmipCertificates = (\d+);", header).group(1)
    with open(os.path.join(ROOT, "src/keywarden/api/kmip/server.h")) as f:
        server = f.read()
    connections = int(re.search(r"max_connections = (\d+);", server).group(1))
    read = re.search(r"read_timeout = std::chrono::seconds\((\d+)\)", server).group(1)
    idle = re.search(r"idle_timeout = std::chrono::seconds\((\d+)\)", server).group(1)
    for row in (f"| adapters per instance | {adapters} ",
                f"| certificates per adapter | {certificates};",
                f"| KMIP connections | {connections:,} at once",
                f"| timeouts | {read} s for the TLS handshake",
                f"; {idle} s idle between messages |"):
        if row not in doc:
            raise AssertionError(f"the limits table lacks {row!r} (the source's value)")


class Walkthrough:
    def __init__(self, binary, work, meta):
        self.work, self.meta = work, meta
        self.state = os.path.join(meta, "state.sh")
        open(self.state, "w").close()
        self.env = {**os.environ,
                    "PATH": os.path.dirname(os.path.abspath(binary)) + ":" + os.environ["PATH"],
                    "HOME": work}
        self.env.pop("KEYWARDEN_TOKEN", None)
        self.env.pop("KEYWARDEN_ADMIN_TOKEN", None)
        # The variables a fresh shell has; the rest are the walkthrough's own.
        fresh = subprocess.run(["bash", "-c", "compgen -v"], env=self.env, cwd=work,
                               capture_output=True, text=True, check=True).stdout.split()
        self.baseline = " ".join(sorted(set(fresh) | {"_", "BASH_COMMAND", "PIPESTATUS"}))
        self.server = None
        self.server_log = os.path.join(meta, "server.log")
        self.http_port = self.kmip_port = None

    def script(self, body):
        # Runs BODY after the previous blocks' variables, then saves its own.
        save = (f'for __kw_v in $(compgen -v); do case " {self.baseline} " in '
                f'*" $__kw_v "*) ;; *) [[ $__kw_v == __kw_* ]] || declare -p "$__kw_v";; '
                f'esac; done > {shlex.quote(self.state)}.new '
                f'&& mv {shlex.quote(self.state)}.new {shlex.quote(self.state)}')
        return (f"set -euo pipefail\nsource {shlex.quote(self.state)}\n"
                f"{body}\n{save}\n")

    def localize(self, text):
        if self.http_port is None:
            if HTTP in text or KMIP.search(text):
                raise AssertionError("a block before the server block names its ports")
            return text
        return KMIP.sub(str(self.kmip_port), text.replace(HTTP, f"127.0.0.1:{self.http_port}"))

    def start_server(self, step):
        body = step.body
        for old, new in ((HTTP, "127.0.0.1:0"), ("127.0.0.1:5696", "127.0.0.1:0"),
                         ("keywarden server", "keywarden server --test-clock")):
            if old not in body:
                raise AssertionError(f"line {step.line}: the server block has no {old!r}")
            body = body.replace(old, new)
        log = open(self.server_log, "w")
        self.server = subprocess.Popen(
            ["bash", "-c", self.script(body) + "wait\n"], cwd=self.work, env=self.env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with open(self.server_log) as f:
                text = f.read()
            kmip = re.search(r"KMIP listening on [^:\"]+:(\d+)", text)
            http = re.search(r"listening on http://127\.0\.0\.1:(\d+)", text)
            if kmip and http and os.path.getsize(self.state) > 0:
                self.kmip_port, self.http_port = int(kmip.group(1)), int(http.group(1))
                return
            if self.server.poll() is not None:
                break
            time.sleep(0.05)  # polling for the process to be up, not a timer
        raise AssertionError(f"line {step.line}: the server did not start:\n{text}")

    def run_step(self, step):
        if step.server:
            self.start_server(step)
            return f"server on http {self.http_port}, KMIP {self.kmip_port}"
        if step.file:
            with open(os.path.join(self.work, step.file), "w") as f:
                f.write(self.localize(step.body))
            return f"wrote {step.file}"
        body = self.localize(step.body)
        if step.after_30s:
            body = (f"curl -sS --fail-with-body -X POST http://127.0.0.1:{self.http_port}"
                    '/_test/clock/advance -H "Authorization: Bearer $KEYWARDEN_TOKEN" '
                    "-d '{\"seconds\": 31}'\n" + body)
        res = subprocess.run(["bash", "-c", self.script(body)], cwd=self.work, env=self.env,
                             capture_output=True, text=True, timeout=STEP_TIMEOUT)
        if res.returncode != 0:
            raise AssertionError(f"line {step.line}: exit {res.returncode}\n"
                                 f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}")
        for text in step.expect:
            if text not in res.stdout:
                raise AssertionError(f"line {step.line}: stdout lacks {text!r}\n"
                                     f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}")
        return res.stdout.strip().splitlines()[-1] if res.stdout.strip() else "ok"

    def stop(self):
        # SIGTERM to the block's whole process group (bash and keywarden),
        # then wait until every member is gone: keywarden, not bash, is what
        # must be finished before its data dir is removed.
        if self.server is None:
            return
        group = self.server.pid
        deadline = time.monotonic() + 60
        sig = signal.SIGTERM
        while True:
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            self.server.poll()  # reap bash, or the group never empties
            if time.monotonic() > deadline:
                sig = signal.SIGKILL
            time.sleep(0.05)  # polling for the processes to exit, not a timer
            sig = 0 if sig == signal.SIGTERM else sig
        self.server.wait()


def main():
    binary = sys.argv[1]
    doc_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        ROOT, "docs/integrations/kmip.md")
    with open(doc_path) as f:
        doc = f.read()
    check_reference(doc)
    steps = parse(doc)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kw-kmipdoc-") as work, \
            tempfile.TemporaryDirectory(prefix="kw-kmipdoc-meta-") as meta:
        w = Walkthrough(binary, work, meta)
        try:
            for step in steps:
                print(f"line {step.line:4}: {w.run_step(step)}", flush=True)
        except Exception:
            if os.path.exists(w.server_log):
                with open(w.server_log) as f:
                    sys.stderr.write("server log:\n" + f.read()[-4000:])
            raise
        finally:
            w.stop()
        with open(w.server_log) as f:
            log = f.read()
        # A sanitizer build reports into the server's log, not its exit code.
        for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if bad in log:
                raise AssertionError(f"the server reported {bad!r}:\n{log[-4000:]}")
    print(f"{len(steps)} walkthrough blocks ran in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
