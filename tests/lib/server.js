'use strict';
// Test harness: runs the real keywarden binary as a child process.
//
// Every server gets a fresh temp data dir (fs.mkdtemp), listens on
// 127.0.0.1:0 and is found through the "listening on http://HOST:PORT" line it
// prints on stderr. Nothing sleeps: the harness waits for that line, and tests
// move the server's clock with advanceClock() (needs --test-clock).
//
// The test clock lives in the server's memory; a restart (or stop + start)
// would set it back to real time, so time would run backwards for the data
// already written. The harness remembers how far it moved the clock and moves
// a restarted server's clock that far again before handing it back.
//
// Cleanup (stop, then rm -r the data dir) is registered with node:test's
// `after` hooks (useServer / startServer(opts, t)) and, as a backstop, on
// process exit.

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before } = require('node:test');

const REPO = path.resolve(__dirname, '..', '..');
const START_TIMEOUT_MS = Number(process.env.KEYWARDEN_START_TIMEOUT_MS || 60000);
const STOP_TIMEOUT_MS = 15000;
const LOG_TAIL_BYTES = 16384;
const LISTEN_RE = /listening on (https?:\/\/[^\s"',}]+)/;
const METRICS_RE = /metrics on (http:\/\/[^\s"',}]+)/;

// The binary under test: $KEYWARDEN_BIN, else the ASan build, else Release.
function binaryPath() {
  if (process.env.KEYWARDEN_BIN) return path.resolve(process.env.KEYWARDEN_BIN);
  for (const rel of ['build-asan/keywarden', 'build/keywarden']) {
    const p = path.join(REPO, rel);
    if (fs.existsSync(p)) return p;
  }
  throw new Error('keywarden binary not found: build it (make test builds build-asan/) ' +
                  'or set KEYWARDEN_BIN');
}

const live = new Set();
process.on('exit', () => {
  for (const s of live) {
    try { if (s.child && s.child.exitCode === null) s.child.kill('SIGKILL'); } catch {}
    try { fs.rmSync(s.dataDir, { recursive: true, force: true }); } catch {}
  }
});

function toBuffer(body) {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

class KeywardenServer {
  // `createInstance: false`: no default instance at first start (a server
  // that starts sealed answers 503 until unsealed).
  constructor({ args = [], env = {}, token, bin, createInstance = true } = {}) {
    this.createsInstance = createInstance;
    this.bin = bin;  // resolved at start() so a missing binary fails the hook, not the load
    this.args = args;
    this.extraEnv = env;
    this.token = token || `kw-test-${crypto.randomBytes(16).toString('hex')}`;
    this.instance = null;  // default Bluemix-Instance, created at first start
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keywarden-test-'));
    this.child = null;
    this.url = null;
    this.metricsUrl = null;  // http://HOST:PORT/metrics with --metrics-listen
    this.log = '';
    this.exits = [];  // {code, signal, expected} of every process that ended
    this.starts = 0;
    this.clockOffset = 0;  // seconds advanceClock() moved the clock, re-applied after restarts
  }

  _appendLog(chunk) {
    this.log += chunk;
    if (this.log.length > 4 * LOG_TAIL_BYTES) this.log = this.log.slice(-LOG_TAIL_BYTES);
  }

  logTail(n = LOG_TAIL_BYTES) { return this.log.slice(-n); }

  // Starts the process (again, on the same data dir) and resolves with the URL.
  start() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      return Promise.reject(new Error('server already running'));
    }
    const argv = ['server', '--data-dir', this.dataDir, '--listen', '127.0.0.1:0', ...this.args];
    const env = {
      ...process.env,
      KEYWARDEN_ADMIN_TOKEN: this.token,
      // Test receivers listen on http://127.0.0.1; the defaults (https,
      // public addresses only) are tested with these set to false.
      KEYWARDEN_WEBHOOKS_ALLOW_HTTP: 'true',
      KEYWARDEN_WEBHOOKS_ALLOW_PRIVATE: 'true',
      ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=1',
      UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1',
      ...this.extraEnv,
    };
    this.starts += 1;
    this.url = null;
    if (!this.bin) this.bin = binaryPath();
    const child = spawn(this.bin, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const verbose = !!process.env.KEYWARDEN_TEST_VERBOSE;
    return new Promise((resolve, reject) => {
      let stderrBuf = '';
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        child.kill('SIGKILL');
        reject(new Error(`keywarden did not print "listening on" within ${START_TIMEOUT_MS} ms\n` +
                         this.logTail(4000)));
      }, START_TIMEOUT_MS);
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (d) => { this._appendLog(d); if (verbose) process.stderr.write(d); });
      child.stderr.on('data', (d) => {
        this._appendLog(d);
        if (verbose) process.stderr.write(d);
        if (settled) return;
        stderrBuf += d;
        const m = LISTEN_RE.exec(stderrBuf);
        if (m) {
          settled = true;
          clearTimeout(timer);
          this.url = m[1].replace(/[.;]+$/, '');
          // Logged before "listening on" when --metrics-listen is given.
          const mm = METRICS_RE.exec(stderrBuf);
          this.metricsUrl = mm ? mm[1] : null;
          // Instances exist only once created through the admin API: the
          // first start makes the default one every test uses.
          const ready = this.instance || !this.createsInstance ? this._reapplyClock()
            : this.createInstance('test').then((id) => { this.instance = id; });
          ready.then(() => resolve(this.url), reject);
        }
      });
      child.on('error', (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      });
      child.on('exit', (code, signal) => {
        this.exits.push({ code, signal, expected: !!child._kwExpectedExit });
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new Error(`keywarden exited (code ${code}, signal ${signal}) before listening:\n` +
                         this.logTail(4000)));
      });
    });
  }

  // Creates an instance (tenant) as the bootstrap administrator; resolves
  // with its id, the value of Bluemix-Instance.
  async createInstance(name = 'extra') {
    // node:http(s) rather than fetch: a TLS test server has a self-signed
    // certificate, which only this harness call needs to skip checking.
    const url = new URL('/admin/v1/instances', this.url);
    const mod = url.protocol === 'https:' ? require('node:https') : require('node:http');
    const body = JSON.stringify({ name });
    const { status, text } = await new Promise((resolve, reject) => {
      const req = mod.request(url, {
        method: 'POST',
        rejectUnauthorized: false,
        headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json',
                   'Content-Length': Buffer.byteLength(body) },
      }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { data += d; });
        res.on('end', () => resolve({ status: res.statusCode, text: data }));
      });
      req.on('error', reject);
      req.end(body);
    });
    if (status !== 201) throw new Error(`create instance: ${status} ${text}`);
    return JSON.parse(text).id;
  }

  get running() {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid() { return this.child ? this.child.pid : undefined; }

  // Sends `signal` and resolves with {code, signal} once the process is gone.
  kill(signal = 'SIGTERM', timeoutMs = STOP_TIMEOUT_MS) {
    const child = this.child;
    if (!child) return Promise.resolve({ code: null, signal: null });
    if (child.exitCode !== null || child.signalCode !== null) {
      return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
    }
    child._kwExpectedExit = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this._appendLog(`\n[harness] no exit ${timeoutMs} ms after ${signal}; sending SIGKILL\n`);
        child.kill('SIGKILL');
      }, timeoutMs);
      child.once('exit', (code, sig) => { clearTimeout(timer); resolve({ code, signal: sig }); });
      child.kill(signal);
    });
  }

  // Graceful stop, then start again on the same data dir (the port changes).
  async restart() {
    await this.stop();
    return this.start();
  }

  // SIGTERM; throws if the server does not exit 0 (ASan/LSan reports exit non-zero).
  async stop() {
    const res = await this.kill('SIGTERM');
    if (res.code !== 0 && res.code !== null) {
      throw new Error(`keywarden exited with code ${res.code} after SIGTERM:\n${this.logTail(6000)}`);
    }
    if (res.signal) {
      throw new Error(`keywarden died of ${res.signal} after SIGTERM:\n${this.logTail(6000)}`);
    }
    return res;
  }

  async cleanup() {
    live.delete(this);
    let err = null;
    try {
      // A process that died on its own (not by our signal) is a failure too.
      const unexpected = this.exits.find((e) => !e.expected);
      if (this.running) await this.stop();
      else if (unexpected) {
        err = new Error(`keywarden died unexpectedly (code ${unexpected.code}, signal ` +
                        `${unexpected.signal}):\n${this.logTail(6000)}`);
      }
    } catch (e) {
      err = e;
    } finally {
      fs.rmSync(this.dataDir, { recursive: true, force: true });
    }
    if (err) throw err;
  }

  // HTTP request against the server. `headers` are added to the defaults
  // (Authorization, Bluemix-Instance); a header set to null is not sent.
  // `body`: object → JSON, string/Buffer → sent as is. No Content-Type is
  // added unless given (or `json: true`), so bodies behave like the Go client's.
  async request(method, urlPath, { headers = {}, body, raw, instance, token, json } = {}) {
    if (!this.url) throw new Error('server not running');
    const h = {
      Authorization: `Bearer ${token === undefined ? this.token : token}`,
      'Bluemix-Instance': instance === undefined ? this.instance : instance,
    };
    if (json) h['Content-Type'] = 'application/json';
    for (const [k, v] of Object.entries(headers)) {
      for (const existing of Object.keys(h)) {
        if (existing.toLowerCase() === k.toLowerCase()) delete h[existing];
      }
      if (v !== null && v !== undefined) h[k] = v;
    }
    const payload = toBuffer(raw !== undefined ? raw : body);
    const res = await fetch(this.url + urlPath, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed;
    if (text.length > 0) {
      try { parsed = JSON.parse(text); } catch { parsed = undefined; }
    }
    return { status: res.status, headers: res.headers, text, json: parsed };
  }

  // GET of the metrics listener (start the server with
  // args: ['--metrics-listen', '127.0.0.1:0']).
  async metrics() {
    if (!this.metricsUrl) throw new Error('no metrics listener: start with --metrics-listen');
    const res = await fetch(this.metricsUrl);
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  }

  async _advance(seconds) {
    const res = await this.request('POST', '/_test/clock/advance', {
      body: { seconds }, json: true,
    });
    if (res.status < 200 || res.status > 299) {
      throw new Error(`POST /_test/clock/advance ${seconds} → ${res.status} ${res.text}`);
    }
    return res;
  }

  async advanceClock(seconds) {
    const res = await this._advance(seconds);
    this.clockOffset += seconds;
    return res;
  }

  // After a restart: the clock where it was before (see the top of the file).
  async _reapplyClock() {
    if (this.clockOffset > 0) await this._advance(this.clockOffset);
  }
}

// useServer must be called synchronously at the top level of a test file or
// in a describe() body: it registers before (start) and after (cleanup) hooks
// there and returns the server object at once (its url is set once started).
function useServer(opts = {}) {
  const s = new KeywardenServer(opts);
  live.add(s);
  before(() => s.start());
  after(() => s.cleanup());
  return s;
}

// startServer starts a server from inside a test; `t` is the test context,
// whose after hook cleans up. Without `t`, cleanup runs on process exit only.
async function startServer(opts = {}, t) {
  const s = new KeywardenServer(opts);
  live.add(s);
  if (t) t.after(() => s.cleanup());
  await s.start();
  return s;
}

module.exports = { useServer, startServer, KeywardenServer, binaryPath, REPO };
