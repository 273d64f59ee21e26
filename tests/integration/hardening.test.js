'use strict';
// What the server does to protect its secrets and itself (issue 10 §5–§7;
// docs/operations.md "Files and core dumps", "Abuse resistance", "Access
// log"): private files, no core dumps, /metrics off the API listener, the
// test clock for administrators only, failed bearer checks aggregated and
// throttled, webhook destinations checked, and an access log that
// attributes every request without a secret in it.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { useServer, startServer, binaryPath } = require('../lib/server');
const { expectStatus, expectError, createRootKey, wrap, unwrap, randB64 } = require('../lib/kp');
const { identities, adminReq, auditRecords, createServiceId } = require('../lib/identity');

// Runs `keywarden server` to completion (it is expected to refuse to start).
function refusedStart(args, env = {}) {
  const r = spawnSync(binaryPath(), ['server', '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, KEYWARDEN_ADMIN_TOKEN: 't'.repeat(40), ...env },
    timeout: 30000, encoding: 'utf8',
  });
  assert.notEqual(r.status, 0, `expected a refusal, got ${r.status} ${r.signal}\n${r.stderr}`);
  return r.stderr;
}

function tempDir(mode) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keywarden-hardening-'));
  fs.chmodSync(dir, mode);
  return dir;
}

describe('files and core dumps', () => {
  const srv = useServer();

  test('the data dir is 0700 and every file in it 0600', async () => {
    const key = await createRootKey(srv, { name: 'files' });
    await wrap(srv, key.id, {});  // the WAL and its index exist by now
    const seen = [];
    const walk = (dir) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        const mode = fs.lstatSync(p).mode & 0o7777;
        seen.push(entry.name);
        if (entry.isDirectory()) {
          assert.equal(mode, 0o700, `${p}: ${mode.toString(8)}`);
          walk(p);
        } else {
          assert.equal(mode, 0o600, `${p}: ${mode.toString(8)}`);
        }
      }
    };
    assert.equal(fs.statSync(srv.dataDir).mode & 0o7777, 0o700);
    walk(srv.dataDir);
    for (const f of ['master.key', 'keywarden.db', 'keywarden.db-wal', 'keywarden.db-shm']) {
      assert.ok(seen.includes(f), `${f} not among ${seen}`);
    }
  });

  test('the process runs with umask 077 and no core file size', () => {
    const status = fs.readFileSync(`/proc/${srv.pid}/status`, 'utf8');
    assert.match(status, /^Umask:\s+0077$/m);
    const limits = fs.readFileSync(`/proc/${srv.pid}/limits`, 'utf8');
    assert.match(limits, /^Max core file size\s+0\s+0\s+bytes/m);
  });

  test('a data dir that group or others can reach is refused with the fix', () => {
    for (const mode of [0o755, 0o750, 0o701]) {
      const dir = tempDir(mode);
      try {
        const stderr = refusedStart(['--data-dir', dir]);
        assert.match(stderr, /data dir .* accessible by group or others \(mode 0\d+\); chmod 700 it/);
        assert.deepEqual(fs.readdirSync(dir), [], 'nothing was created');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  test('--allow-core-dumps starts with a warning', async (t) => {
    const s = await startServer({ args: ['--allow-core-dumps'] }, t);
    assert.match(s.log, /core dumps allowed \(--allow-core-dumps\)/);
  });
});

describe('admin token length', () => {
  test('a KEYWARDEN_ADMIN_TOKEN under 32 characters stops the server', () => {
    const dir = tempDir(0o700);
    try {
      const stderr = refusedStart(['--data-dir', dir], { KEYWARDEN_ADMIN_TOKEN: 'x'.repeat(31) });
      assert.match(stderr, /KEYWARDEN_ADMIN_TOKEN must be at least 32 characters \(it has 31\)/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('/metrics', () => {
  const srv = useServer({ args: ['--metrics-listen', '127.0.0.1:0'] });

  test('the API listener does not serve /metrics, with or without a token', async () => {
    expectStatus(await srv.request('GET', '/metrics', { headers: { Authorization: null }, instance: null }), 404);
    expectStatus(await srv.request('GET', '/metrics', { instance: null }), 404);
  });

  test('the metrics listener serves the Prometheus text and nothing else', async () => {
    assert.ok(srv.metricsUrl, 'metrics address logged');
    await srv.request('GET', '/api/v2/keys');
    const m = await srv.metrics();
    expectStatus(m, 200);
    assert.match(m.headers.get('content-type') || '', /text\/plain/);
    assert.match(m.text, /^keywarden_http_requests_total\{operation="list_keys",code="200"\} [1-9]/m);
    const other = await fetch(srv.metricsUrl.replace(/\/metrics$/, '/api/v2/keys'));
    assert.equal(other.status, 404);
  });
});

describe('test clock', () => {
  const srv = useServer({ args: ['--test-clock'] });

  test('only administrators may move it', async () => {
    const ids = identities(srv);
    const manager = await ids.user('clock-manager', ['Manager']);
    const res = await srv.request('POST', '/_test/clock/advance', {
      token: manager.token, body: { seconds: 60 }, json: true,
    });
    expectError(res, 403, 'FORBIDDEN_ERR');
    expectStatus(await srv.request('POST', '/_test/clock/advance', {
      body: { seconds: 1 }, json: true,
    }), 204);
  });
});

describe('failed bearer checks', () => {
  const srv = useServer({ args: ['--test-clock'], env: { KEYWARDEN_AUTH_FAILURES_PER_MINUTE: '5' } });

  test('are throttled per address past the limit; a valid token still works', async () => {
    const statuses = [];
    let last;
    for (let i = 0; i < 7; i++) {
      last = await srv.request('GET', '/api/v2/keys', { token: `wrong-${i}` });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
    expectError(last, 429, 'TOO_MANY_REQUESTS_ERR');
    const wait = Number(last.headers.get('retry-after'));
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${last.headers.get('retry-after')}`);
    expectStatus(await srv.request('GET', '/api/v2/keys'), 200);
    // The window passes (test clock): 401 again.
    await srv.advanceClock(61);
    expectError(await srv.request('GET', '/api/v2/keys', { token: 'wrong-again' }), 401, 'UNAUTHORIZED_ERR');
  });

});

describe('failed bearer checks, audited', () => {
  const srv = useServer({ args: ['--test-clock'] });

  test('become one audit record per address and minute, with a count', async () => {
    const before = await auditRecords(srv);
    const after = before.length ? before[before.length - 1].seq : 0;
    for (let i = 0; i < 3; i++) {
      expectError(await srv.request('GET', '/api/v2/keys', { token: `bad-${i}`,
        headers: { 'Correlation-Id': `agg-${i}` } }), 401, 'UNAUTHORIZED_ERR');
    }
    const failures = async () => (await auditRecords(srv, after)).filter((r) => r.action === 'auth.failure');
    assert.deepEqual(await failures(), [], 'no record per failed request');
    await srv.advanceClock(61);  // the minute ends; advancing flushes
    const flushed = await failures();
    // Normally one record; two if a minute boundary fell between the calls.
    assert.ok(flushed.length >= 1 && flushed.length <= 2, JSON.stringify(flushed));
    let count = 0;
    for (const r of flushed) {
      assert.equal(r.outcome, 'failure');
      assert.equal(r.target, 'address:127.0.0.1');
      assert.match(r.details, /^\d+ failed authentications? from 127\.0\.0\.1 in the minute from /);
      count += Number(/^(\d+)/.exec(r.details)[1]);
    }
    assert.equal(count, 3);
    assert.equal(flushed[0].correlationId, 'agg-0');
    assert.match(flushed[0].details, /first .* list_keys: UNAUTHORIZED_ERR \(correlation agg-0\)/);
    assert.match(flushed[flushed.length - 1].details, /\(correlation agg-2\)$/);
    assert.ok(!JSON.stringify(flushed).includes('bad-1'), 'a presented token is in the audit log');
  });
});

describe('webhook destinations (defaults: https, public addresses)', () => {
  const srv = useServer({ env: { KEYWARDEN_WEBHOOKS_ALLOW_HTTP: 'false',
                                 KEYWARDEN_WEBHOOKS_ALLOW_PRIVATE: 'false' } });

  test('registration names the rule a URL breaks', async () => {
    const svc = await createServiceId(srv, 'hooked', 'object-storage');
    const put = (url) => adminReq(srv, 'PUT', `/admin/v1/service_ids/${svc.id}/webhook`, { url });
    const cases = [
      ['http://203.0.113.9/events', /must use https \(webhooks\.allow_http is off\)/],
      ['https://127.0.0.1:9/events', /127\.0\.0\.1 is a loopback address \(webhooks\.allow_private is off\)/],
      ['https://localhost:9/events', /is a loopback address/],
      ['https://10.1.2.3/events', /10\.1\.2\.3 is a private address/],
      ['https://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is a cloud metadata address/],
      ['https://[fd00:ec2::254]/', /fd00:ec2::254 is a cloud metadata address/],
      ['https://[::ffff:192.168.0.1]/', /is a private address/],
    ];
    for (const [url, re] of cases) {
      const res = await put(url);
      expectError(res, 400, 'BAD_REQUEST_ERR');
      assert.match(JSON.stringify(res.json), re, url);
    }
    expectStatus(await adminReq(srv, 'GET', `/admin/v1/service_ids/${svc.id}/webhook`), 404);
  });
});

describe('access log', () => {
  const srv = useServer();

  test('a wrap and an unwrap name principal, instance, key and operation, and no secret', async () => {
    const ids = identities(srv);
    const writer = await ids.user('log-writer', ['Writer']);
    const key = await createRootKey(srv, { name: 'attributed' });
    const plaintext = randB64(32);
    const w = await writer.act(key.id, 'wrap', { plaintext });
    expectStatus(w, 200);
    const u = await writer.act(key.id, 'unwrap', { ciphertext: w.json.ciphertext });
    expectStatus(u, 200);
    assert.equal(u.json.plaintext, plaintext);
    await srv.stop();  // flushes the access log
    const lines = srv.log.split('\n').filter((l) => l.includes('"msg":"access"'));
    for (const op of ['wrap_key', 'unwrap_key']) {
      const line = lines.find((l) => l.includes(`"op":"${op}"`) && l.includes(`"key":"${key.id}"`));
      assert.ok(line, `no access line for ${op}:\n${lines.slice(-5).join('\n')}`);
      const event = JSON.parse(line).event;
      assert.equal(event.principal, writer.id);
      assert.equal(event.instance, srv.instance);
      assert.equal(event.method, 'POST');
      assert.equal(event.status, 200);
      assert.equal(event.remote, '127.0.0.1');
    }
    const all = srv.log;
    for (const secret of [plaintext, w.json.ciphertext, writer.token, writer.apikey, srv.token]) {
      assert.ok(!all.includes(secret), `the log holds a secret: ${secret.slice(0, 12)}…`);
    }
  });
});
