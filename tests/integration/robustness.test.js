'use strict';
// Hostile and unusual input must give a clean 4xx and leave the server
// healthy (under ASan/UBSan in make test): oversized and deeply nested bodies,
// bytes that are not UTF-8, raw malformed HTTP, pipelining, HTTP/1.0, many
// concurrent clients on one key while it rotates.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const crypto = require('node:crypto');
const { useServer } = require('../lib/server');
const {
  KEY_TYPE, desc, expectStatus, expectError, keyEnvelope, keyResource, createRootKey, action, wrap, unwrap,
} = require('../lib/kp');

const srv = useServer({ args: ['--test-clock'] });

async function healthy() {
  const res = await srv.request('GET', '/healthz');
  expectStatus(res, 200, 'healthz after hostile input');
}

// Sends raw bytes on a fresh TCP connection; resolves with everything the
// server sent back before it closed the connection (or after `ms` of silence).
function rawExchange(bytes, ms = 3000) {
  const { hostname, port } = new URL(srv.url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    const chunks = [];
    let timer = null;
    const finish = () => { clearTimeout(timer); sock.destroy(); resolve(Buffer.concat(chunks).toString('latin1')); };
    const arm = () => { clearTimeout(timer); timer = setTimeout(finish, ms); };
    sock.on('connect', () => { sock.write(bytes); arm(); });
    sock.on('data', (d) => { chunks.push(d); arm(); });
    sock.on('end', finish);
    sock.on('close', finish);
    sock.on('error', (e) => (chunks.length ? finish() : reject(e)));
  });
}

describe('hostile bodies', () => {
  test('a 3 MB body: 413 (or 400) envelope', async () => {
    const res = await srv.request('POST', '/api/v2/keys', { raw: Buffer.alloc(3 * 1024 * 1024, 0x61) });
    assert.ok(res.status === 413 || res.status === 400, desc(res));
    expectError(res, res.status, null);
    await healthy();
  });

  test('deeply nested JSON: 400 BAD_BODY_ERR', async () => {
    for (const raw of ['['.repeat(200000), '{"a":'.repeat(50000), `${'['.repeat(5000)}${']'.repeat(5000)}`]) {
      const res = await srv.request('POST', '/api/v2/keys', { raw });
      expectError(res, 400, 'BAD_BODY_ERR');
      const w = await srv.request('POST', `/api/v2/keys/${crypto.randomUUID()}/actions/wrap`, { raw });
      assert.ok(w.status === 400 || w.status === 404, desc(w));
    }
    await healthy();
  });

  test('bytes that are not UTF-8 in a name: a clean 400 or 201, never a crash', async () => {
    const head = Buffer.from(`{"metadata":{"collectionType":"${KEY_TYPE}","collectionTotal":1},"resources":[{"type":"${KEY_TYPE}","name":"ab`);
    const tail = Buffer.from('","extractable":false}]}');
    const res = await srv.request('POST', '/api/v2/keys', { raw: Buffer.concat([head, Buffer.from([0xff, 0xfe, 0xc0]), tail]) });
    assert.ok(res.status === 400 || res.status === 201, desc(res));
    if (res.status === 400) expectError(res, 400, null);
    await healthy();
  });

  test('JSON with duplicate, unknown and null fields in a create is handled', async () => {
    const raw = `{"metadata":{"collectionType":"${KEY_TYPE}","collectionTotal":1},"resources":[` +
      `{"type":"${KEY_TYPE}","name":"dup","name":"dup2","extractable":false,"unknownField":{"x":[1,2]},"description":null}]}`;
    const res = await srv.request('POST', '/api/v2/keys', { raw });
    assert.ok(res.status === 201 || res.status === 400, desc(res));
    if (res.status === 400) expectError(res, 400, null);
    await healthy();
  });

  test('a huge number, a huge string and unicode escapes in wrap bodies', async () => {
    const key = await createRootKey(srv, { name: 'hostile-wrap' });
    for (const raw of ['{"plaintext":1e999999}', `{"plaintext":"${'A'.repeat(200000)}"}`,
      '{"plaintext":"\\u0000\\u0000AA"}', '{"aad":["\\ud800"]}', '{"aad":[' + '"a",'.repeat(10000) + '"a"]}']) {
      const res = await action(srv, key.id, 'wrap', raw);
      assert.ok(res.status === 400 || res.status === 413 || res.status === 200, desc(res));
      if (res.status !== 200) expectError(res, res.status, null);
    }
    await healthy();
  });
});

describe('raw HTTP', () => {
  test('malformed request line: 400 and the connection closes; server stays up', async () => {
    const out = await rawExchange('GARBAGE\r\n\r\n');
    assert.ok(out === '' || /^HTTP\/1\.[01] 4\d\d/.test(out), JSON.stringify(out.slice(0, 200)));
    await healthy();
  });

  test('oversized header: 4xx (431/400) or close; server stays up', async () => {
    const out = await rawExchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(200000)}\r\n\r\n`);
    assert.ok(out === '' || /^HTTP\/1\.[01] 4\d\d/.test(out), JSON.stringify(out.slice(0, 200)));
    await healthy();
  });

  test('a very long URL: 4xx; server stays up', async () => {
    const res = await srv.request('GET', `/api/v2/keys/${'a'.repeat(20000)}/metadata`).catch((e) => ({ status: 0, e }));
    assert.ok(res.status === 0 || (res.status >= 400 && res.status < 500), `${res.status}`);
    await healthy();
  });

  test('Content-Length larger than the body sent: no hang of the server', async () => {
    const out = await rawExchange(`POST /api/v2/keys HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a"`, 1500);
    assert.ok(typeof out === 'string');
    await healthy();
  });

  test('two pipelined requests on one connection get two responses in order', async () => {
    const req = (p) => `GET ${p} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${srv.token}\r\n` +
      `Bluemix-Instance: ${srv.instance}\r\nCorrelation-Id: ${p.length}\r\n\r\n`;
    const out = await rawExchange(req('/healthz') + req('/api/v2/keys?limit=1'), 1500);
    const statuses = [...out.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '200'], out.slice(0, 400));
  });

  test('HTTP/1.0 request without Host gets an answer', async () => {
    const out = await rawExchange('GET /healthz HTTP/1.0\r\n\r\n', 1500);
    assert.match(out, /^HTTP\/1\.[01] 200/);
  });

  test('chunked request body is accepted', async () => {
    const body = JSON.stringify(keyEnvelope(keyResource({ name: 'chunked' })));
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const out = await rawExchange(`POST /api/v2/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${srv.token}\r\n` +
      `Bluemix-Instance: ${srv.instance}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`, 3000);
    assert.match(out, /^HTTP\/1\.1 201/, out.slice(0, 300));
  });
});

describe('concurrency', () => {
  test('200 concurrent wraps/unwraps on one key while it rotates: every WDEK unwraps', async () => {
    const key = await createRootKey(srv, { name: 'busy' });
    const jobs = [];
    const results = [];
    for (let i = 0; i < 200; i += 1) {
      jobs.push((async () => {
        const dek = crypto.randomBytes(32).toString('base64');
        const w = await wrap(srv, key.id, { plaintext: dek, aad: [`i=${i}`] });
        results.push({ dek, w, i });
        const u = await unwrap(srv, key.id, { ciphertext: w.ciphertext, aad: [`i=${i}`] });
        assert.equal(u.plaintext, dek);
      })());
      if (i % 50 === 25) {
        jobs.push((async () => {
          await srv.advanceClock(3601);
          const r = await action(srv, key.id, 'rotate', {});
          assert.ok(r.status === 204 || r.status === 409, desc(r));
        })());
      }
    }
    await Promise.all(jobs);
    const v = await srv.request('GET', `/api/v2/keys/${key.id}/versions`);
    expectStatus(v, 200);
    const versions = new Set(v.json.resources.map((x) => x.id));
    const latest = v.json.resources[0].id;
    for (const { dek, w, i } of results) {
      assert.ok(versions.has(w.keyVersion.id));
      const u = await unwrap(srv, key.id, { ciphertext: w.ciphertext, aad: [`i=${i}`] });
      assert.equal(u.plaintext, dek);
      if (w.keyVersion.id !== latest) assert.equal(u.rewrappedKeyVersion.id, latest);
    }
  });

  test('100 concurrent creates in 10 instances: each instance lists exactly its keys', async () => {
    const instances = await Promise.all(Array.from({ length: 10 }, (_, i) => srv.createInstance(`par-${i}`)));
    const made = await Promise.all(Array.from({ length: 100 }, (_, i) =>
      createRootKey(srv, { name: `par-${i}` }, { instance: instances[i % 10] }).then((k) => [i % 10, k.id])));
    for (let j = 0; j < 10; j += 1) {
      const res = await srv.request('GET', '/api/v2/keys', { instance: instances[j] });
      expectStatus(res, 200);
      const want = made.filter(([x]) => x === j).map(([, id]) => id).sort();
      assert.deepEqual(res.json.resources.map((k) => k.id).sort(), want);
    }
  });
});
