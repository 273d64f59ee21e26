'use strict';
// Cross-cutting HTTP behaviour: authentication (401 envelope), the
// Bluemix-Instance header and tenant isolation, correlation ids, unknown keys,
// /healthz /readyz /metrics, restart persistence and graceful shutdown
// (keyprotect-api.md §1.2, §1.6, §17; ARCHITECTURE.md §6, §7).

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useServer, startServer } = require('../lib/server');
const {
  UUID_RE, desc, expectStatus, expectError, createRootKey, createStandardKey, metadataOf, action, wrap,
  unwrap,
} = require('../lib/kp');

const srv = useServer({ args: ['--metrics-listen', '127.0.0.1:0'] });

describe('authentication', () => {
  test('no Authorization header: 401 UNAUTHORIZED_ERR envelope', async () => {
    const res = await srv.request('GET', '/api/v2/keys', { headers: { Authorization: null } });
    expectError(res, 401, 'UNAUTHORIZED_ERR');
  });

  test('wrong bearer token: 401', async () => {
    expectError(await srv.request('GET', '/api/v2/keys', { token: 'not-the-token' }), 401, 'UNAUTHORIZED_ERR');
    expectError(await srv.request('GET', '/api/v2/keys', { token: `${srv.token}x` }), 401, 'UNAUTHORIZED_ERR');
    expectError(await srv.request('GET', '/api/v2/keys', { token: '' }), 401, 'UNAUTHORIZED_ERR');
  });

  test('token with another scheme: 401', async () => {
    const res = await srv.request('GET', '/api/v2/keys', {
      headers: { Authorization: `Basic ${Buffer.from(`admin:${srv.token}`).toString('base64')}` },
    });
    expectError(res, 401, 'UNAUTHORIZED_ERR');
    const raw = await srv.request('GET', '/api/v2/keys', { headers: { Authorization: srv.token } });
    expectError(raw, 401, 'UNAUTHORIZED_ERR');
  });

  test('every key endpoint requires the token', async () => {
    const key = await createRootKey(srv, { name: 'auth-probe' });
    const id = key.id;
    const calls = [
      ['HEAD', '/api/v2/keys'], ['POST', '/api/v2/keys'], ['GET', `/api/v2/keys/${id}`],
      ['GET', `/api/v2/keys/${id}/metadata`], ['DELETE', `/api/v2/keys/${id}`], ['POST', `/api/v2/keys/${id}/restore`],
      ['GET', `/api/v2/keys/${id}/versions`], ['POST', `/api/v2/keys/${id}/actions/wrap`],
      ['POST', `/api/v2/keys/${id}/actions/unwrap`], ['POST', `/api/v2/keys/${id}/actions/rewrap`],
      ['POST', `/api/v2/keys/${id}/actions/rotate`], ['POST', `/api/v2/keys/${id}/actions/enable`],
      ['POST', `/api/v2/keys/${id}/actions/disable`], ['POST', `/api/v2/keys/${id}?action=wrap`],
    ];
    for (const [m, p] of calls) {
      const res = await srv.request(m, p, { token: 'wrong', body: m === 'POST' ? {} : undefined });
      assert.equal(res.status, 401, `${m} ${p}: ${desc(res)}`);
      if (m !== 'HEAD') expectError(res, 401, 'UNAUTHORIZED_ERR');
    }
    // Nothing happened to the key.
    assert.equal((await metadataOf(srv, id)).state, 1);
  });

  test('the test clock endpoint is absent without --test-clock', async () => {
    const res = await srv.request('POST', '/_test/clock/advance', { body: { seconds: 60 } });
    assert.ok(res.status >= 400, `expected an error, got ${desc(res)}`);
  });
});

describe('Bluemix-Instance and tenant isolation', () => {
  test('missing Bluemix-Instance: 400 envelope', async () => {
    expectError(await srv.request('GET', '/api/v2/keys', { instance: null }), 400, null);
  });

  test('Bluemix-Instance that is not a UUID: 400 envelope', async () => {
    expectError(await srv.request('GET', '/api/v2/keys', { instance: 'not-a-uuid' }), 400, null);
    expectError(await srv.request('GET', '/api/v2/keys', { instance: '' }), 400, null);
  });

  test('a key of instance A is invisible to instance B (404, not listed, not counted)', async () => {
    const a = await srv.createInstance('tenant-a');
    const b = await srv.createInstance('tenant-b');
    const key = await createRootKey(srv, { name: 'tenant-a' }, { instance: a });
    const w = await wrap(srv, key.id, {}, { instance: a });
    await createRootKey(srv, { name: 'tenant-b' }, { instance: b });
    const asB = { instance: b };
    expectError(await srv.request('GET', `/api/v2/keys/${key.id}`, asB), 404, 'NOT_FOUND_ERR');
    expectError(await srv.request('GET', `/api/v2/keys/${key.id}/metadata`, asB), 404, 'NOT_FOUND_ERR');
    expectError(await srv.request('GET', `/api/v2/keys/${key.id}/versions`, asB), 404, 'NOT_FOUND_ERR');
    expectError(await action(srv, key.id, 'wrap', {}, asB), 404, 'NOT_FOUND_ERR');
    expectError(await action(srv, key.id, 'unwrap', { ciphertext: w.ciphertext }, asB), 404, 'NOT_FOUND_ERR');
    expectError(await action(srv, key.id, 'rotate', {}, asB), 404, 'NOT_FOUND_ERR');
    expectError(await action(srv, key.id, 'disable', undefined, asB), 404, 'NOT_FOUND_ERR');
    expectError(await srv.request('DELETE', `/api/v2/keys/${key.id}`, asB), 404, 'NOT_FOUND_ERR');
    const list = await srv.request('GET', '/api/v2/keys', asB);
    expectStatus(list, 200);
    assert.equal(list.json.resources.length, 1);
    assert.notEqual(list.json.resources[0].id, key.id);
    const head = await srv.request('HEAD', '/api/v2/keys', asB);
    assert.equal(head.headers.get('key-total'), '1');
    // Still intact for A.
    assert.equal((await metadataOf(srv, key.id, { instance: a })).state, 1);
    assert.equal((await unwrap(srv, key.id, { ciphertext: w.ciphertext }, { instance: a })).plaintext, w.plaintext);
  });

  test('an instance that was never created answers like one without access (403), even to an admin', async () => {
    const ghost = crypto.randomUUID();
    expectError(await srv.request('GET', '/api/v2/keys', { instance: ghost }), 403, 'FORBIDDEN_ERR');
    expectError(await srv.request('POST', '/api/v2/keys', {
      instance: ghost,
      body: { metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 },
              resources: [{ type: 'application/vnd.ibm.kms.key+json', name: 'ghost', extractable: false }] },
    }), 403, 'FORBIDDEN_ERR');
    expectError(await srv.request('GET', `/api/v2/keys/${crypto.randomUUID()}/metadata`, { instance: ghost }),
                403, 'FORBIDDEN_ERR');
  });

  test('instance ids are case-insensitive UUIDs or distinct tenants, but never a crash', async () => {
    const a = await srv.createInstance('case');
    const key = await createRootKey(srv, { name: 'case' }, { instance: a });
    const res = await srv.request('GET', `/api/v2/keys/${key.id}/metadata`, { instance: a.toUpperCase() });
    assert.ok(res.status === 200 || res.status === 404, desc(res));
  });
});

describe('unknown keys and routes', () => {
  test('unknown key id: 404 NOT_FOUND_ERR for every key endpoint', async () => {
    const id = crypto.randomUUID();
    for (const [m, p, body] of [['GET', `/api/v2/keys/${id}`], ['GET', `/api/v2/keys/${id}/metadata`],
      ['GET', `/api/v2/keys/${id}/versions`], ['DELETE', `/api/v2/keys/${id}`],
      ['POST', `/api/v2/keys/${id}/restore`], ['POST', `/api/v2/keys/${id}/actions/rotate`, {}],
      ['POST', `/api/v2/keys/${id}/actions/enable`], ['POST', `/api/v2/keys/${id}/actions/disable`],
      ['POST', `/api/v2/keys/${id}/actions/rewrap`, { ciphertext: 'AAAA' }]]) {
      const res = await srv.request(m, p, { body });
      expectError(res, 404, 'NOT_FOUND_ERR');
    }
  });

  test('a key id that is not a UUID (and no alias): 404', async () => {
    expectError(await srv.request('GET', '/api/v2/keys/no-such-alias/metadata'), 404, 'NOT_FOUND_ERR');
  });

  test('unknown path under /api/v2: 404 or 405 envelope', async () => {
    const res = await srv.request('GET', '/api/v2/nothing-here');
    assert.ok(res.status === 404 || res.status === 405, desc(res));
    expectError(res, res.status, null);
  });

  test('unsupported method on a key: 405 (or 404) envelope', async () => {
    const key = await createRootKey(srv, { name: 'method' });
    const res = await srv.request('PUT', `/api/v2/keys/${key.id}`, { body: {} });
    assert.ok(res.status === 405 || res.status === 404 || res.status === 400, desc(res));
    expectError(res, res.status, null);
  });
});

describe('correlation ids and response format', () => {
  test('Correlation-Id is echoed on success and on error', async () => {
    const cid = crypto.randomUUID();
    const ok = await srv.request('GET', '/api/v2/keys', { headers: { 'Correlation-Id': cid } });
    expectStatus(ok, 200);
    assert.equal(ok.headers.get('correlation-id'), cid);
    const bad = await srv.request('GET', '/api/v2/keys', { headers: { 'Correlation-Id': cid }, token: 'x' });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('correlation-id'), cid);
  });

  test('a correlation id is generated when the request has none', async () => {
    const a = await srv.request('GET', '/api/v2/keys');
    const b = await srv.request('GET', '/api/v2/keys');
    const ca = a.headers.get('correlation-id');
    const cb = b.headers.get('correlation-id');
    assert.match(ca || '', UUID_RE);
    assert.match(cb || '', UUID_RE);
    assert.notEqual(ca, cb);
  });

  test('responses are JSON', async () => {
    const res = await srv.request('GET', '/api/v2/keys');
    assert.match(res.headers.get('content-type') || '', /json/);
    const err = await srv.request('GET', '/api/v2/keys', { token: 'x' });
    assert.match(err.headers.get('content-type') || '', /json/);
  });

  test('Accept headers of the SDKs are all served', async () => {
    for (const accept of ['application/json', 'application/vnd.ibm.collection+json',
      'application/json, text/plain, */*', 'application/vnd.ibm.kms.key+json']) {
      expectStatus(await srv.request('GET', '/api/v2/keys', { headers: { Accept: accept } }), 200, accept);
    }
  });
});

describe('health and metrics', () => {
  test('/healthz and /readyz answer 200 without credentials', async () => {
    for (const p of ['/healthz', '/readyz']) {
      const res = await srv.request('GET', p, { token: null, instance: null, headers: { Authorization: null } });
      expectStatus(res, 200, p);
    }
  });

  test('/metrics is Prometheus text and counts requests', async () => {
    await srv.request('GET', '/api/v2/keys');
    const res = await srv.metrics();  // the metrics listener: /metrics is not on the API port
    expectStatus(res, 200);
    assert.match(res.headers.get('content-type') || '', /text\/plain/);
    assert.match(res.text, /^# (HELP|TYPE) /m);
    assert.match(res.text, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [0-9.eE+-]+$/m);
  });
});

describe('process lifecycle', () => {
  test('keys, versions and WDEKs survive a restart; SIGTERM exits 0', async (t) => {
    const s = await startServer({}, t);
    const key = await createRootKey(s, { name: 'persist' });
    const std = await createStandardKey(s, { name: 'persist-std' });
    const stdPayload = (await s.request('GET', `/api/v2/keys/${std.id}`)).json.resources[0].payload;
    const w = await wrap(s, key.id, {});
    expectStatus(await action(s, key.id, 'rotate', {}), 204);
    const before = (await s.request('GET', `/api/v2/keys/${key.id}/versions`)).json.resources.map((v) => v.id);

    const res = await s.kill('SIGTERM');
    assert.deepEqual(res, { code: 0, signal: null }, `SIGTERM exit: ${s.logTail(3000)}`);
    await s.start();

    const md = await metadataOf(s, key.id);
    assert.equal(md.name, 'persist');
    const after = (await s.request('GET', `/api/v2/keys/${key.id}/versions`)).json.resources.map((v) => v.id);
    assert.deepEqual(after, before);
    const u = await unwrap(s, key.id, { ciphertext: w.ciphertext });
    assert.equal(u.plaintext, w.plaintext);
    const got = await s.request('GET', `/api/v2/keys/${std.id}`);
    assert.equal(got.json.resources[0].payload, stdPayload);
  });

  test('the server refuses to start on an address in use (non-zero exit, one-line reason)', async (t) => {
    const s = await startServer({}, t);
    const port = new URL(s.url).port;
    const { spawnSync } = require('node:child_process');
    const fs = require('node:fs');
    const os = require('node:os');
    const path = require('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keywarden-test-'));
    try {
      const r = spawnSync(s.bin, ['server', '--data-dir', dir, '--listen', `127.0.0.1:${port}`],
                          { env: { ...process.env, KEYWARDEN_ADMIN_TOKEN: 'x'.repeat(32) }, timeout: 30000,
                            encoding: 'utf8' });
      assert.notEqual(r.status, 0, `expected a non-zero exit, got ${r.status} ${r.signal}\n${r.stderr}`);
      assert.ok(r.stderr.trim().length > 0, 'expected a reason on stderr');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
