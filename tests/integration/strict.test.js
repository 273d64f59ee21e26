'use strict';
// Strict HTTP and JSON (docs/api.md "Strict HTTP and JSON", issue 10 §4):
// RFC 9112 §3.2 Host rules and bounded chunk extensions over a raw socket.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { useServer } = require('../lib/server');
const { expectStatus, keyEnvelope, keyResource } = require('../lib/kp');

const srv = useServer({ args: ['--test-clock'] });

// Sends raw bytes on a fresh connection; resolves with what the server sent
// before closing (closed: true) or before `ms` of silence (closed: false).
function rawExchange(bytes, ms = 3000) {
  const { hostname, port } = new URL(srv.url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    const chunks = [];
    let timer = null;
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const arm = () => { clearTimeout(timer); timer = setTimeout(finish, ms); };
    sock.on('connect', () => { sock.write(bytes); arm(); });
    sock.on('data', (d) => { chunks.push(d); arm(); });
    sock.on('end', () => { closed = true; finish(); });
    sock.on('close', () => { closed = true; finish(); });
    sock.on('error', (e) => (chunks.length ? finish() : reject(e)));
  });
}

// The status line and the JSON body of a raw response.
function parseRaw(text) {
  const status = Number((/^HTTP\/1\.[01] (\d{3})/.exec(text) || [])[1]);
  const split = text.indexOf('\r\n\r\n');
  let json = null;
  try { json = JSON.parse(text.slice(split + 4)); } catch { /* not JSON */ }
  return { status, json, text };
}

function expectRawBadRequest(out, what) {
  const res = parseRaw(out.text);
  assert.equal(res.status, 400, `${what}: ${out.text.slice(0, 300)}`);
  // The Key Protect error envelope, as for the server's other parse errors.
  assert.equal(res.json?.metadata?.collectionType, 'application/vnd.ibm.kms.error+json', `${what}: ${out.text}`);
  assert.equal(res.json.resources[0].reasons[0].code, 'BAD_REQUEST_ERR', `${what}: ${out.text}`);
  assert.ok(out.closed, `${what}: connection left open`);
}

async function healthy() {
  expectStatus(await srv.request('GET', '/healthz'), 200, 'healthz');
}

const authHeaders = () => `Authorization: Bearer ${srv.token}\r\nBluemix-Instance: ${srv.instance}\r\n`;

describe('Host (RFC 9112 §3.2)', () => {
  test('HTTP/1.1 without Host: 400 envelope, connection closed', async () => {
    expectRawBadRequest(await rawExchange(`GET /api/v2/keys HTTP/1.1\r\n${authHeaders()}\r\n`), 'no Host');
    await healthy();
  });

  test('two Host fields (same or different, any case, any version): 400 envelope, closed', async () => {
    for (const hosts of ['Host: a\r\nHost: a\r\n', 'Host: a\r\nhost: b\r\n']) {
      for (const version of ['1.1', '1.0']) {
        const out = await rawExchange(`GET /api/v2/keys HTTP/${version}\r\n${hosts}${authHeaders()}\r\n`);
        expectRawBadRequest(out, `${JSON.stringify(hosts)} HTTP/${version}`);
      }
    }
    await healthy();
  });

  test('a Host that is not host[:port]: 400', async () => {
    expectRawBadRequest(await rawExchange(`GET /healthz HTTP/1.1\r\nHost: user@evil\r\n\r\n`), 'userinfo');
  });

  test('refused before the body is read: no 100 Continue, nothing created', async () => {
    const body = JSON.stringify(keyEnvelope(keyResource({ name: 'hostless' })));
    const out = await rawExchange(`POST /api/v2/keys HTTP/1.1\r\n${authHeaders()}Expect: 100-continue\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}`);
    assert.doesNotMatch(out.text, /100 Continue/);
    expectRawBadRequest(out, 'POST without Host');
    const list = await srv.request('GET', '/api/v2/keys?limit=5000');
    assert.ok(!list.json.resources?.some((k) => k.name === 'hostless'), 'a key was created');
  });

  test('HTTP/1.0 without Host and HTTP/1.1 with one are served', async () => {
    assert.match((await rawExchange('GET /healthz HTTP/1.0\r\n\r\n', 1500)).text, /^HTTP\/1\.[01] 200/);
    assert.match((await rawExchange('GET /healthz HTTP/1.1\r\nHost: localhost:1\r\nConnection: close\r\n\r\n')).text,
      /^HTTP\/1\.1 200/);
  });
});

describe('chunk extensions (RFC 9112 §7.1.1)', () => {
  const head = () => `POST /api/v2/keys HTTP/1.1\r\nHost: x\r\n${authHeaders()}Transfer-Encoding: chunked\r\n\r\n`;

  test('a 100 kB chunk extension: 400 envelope, closed, nothing created', async () => {
    const body = JSON.stringify(keyEnvelope(keyResource({ name: 'extended' })));
    const out = await rawExchange(`${head()}${body.length.toString(16)};x=${'e'.repeat(100 * 1024)}\r\n${body}\r\n0\r\n\r\n`);
    expectRawBadRequest(out, '100 kB extension');
    const list = await srv.request('GET', '/api/v2/keys?limit=5000');
    assert.ok(!list.json.resources?.some((k) => k.name === 'extended'), 'a key was created');
    await healthy();
  });

  test('1 kB on one chunk, or many small ones adding up: 400', async () => {
    expectRawBadRequest(await rawExchange(`${head()}1;${'e'.repeat(1024)}\r\n{\r\n0\r\n\r\n`), '1 kB');
    const many = Array.from({ length: 40 }, () => `1;${'e'.repeat(60)}\r\n \r\n`).join('');
    expectRawBadRequest(await rawExchange(`${head()}${many}0\r\n\r\n`), 'many');
  });

  test('a short extension is still accepted', async () => {
    const body = JSON.stringify(keyEnvelope(keyResource({ name: 'short-ext' })));
    const out = await rawExchange(`${head().replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}` +
      `${body.length.toString(16)};name=value\r\n${body}\r\n0\r\n\r\n`);
    assert.match(out.text, /^HTTP\/1\.1 201/, out.text.slice(0, 300));
  });
});
