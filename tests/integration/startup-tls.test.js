'use strict';
// The process interface: TLS listening (--tls-cert/--tls-key, also with the
// official SDK), and refusing to start with a non-zero exit and a reason on
// stderr when it cannot (bad listen address, unusable data dir, bad cert).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { KeywardenServer, binaryPath } = require('../lib/server');
const { keyEnvelope, keyResource, KEY_TYPE } = require('../lib/kp');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keywarden-tls-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const certFile = path.join(tmp, 'cert.pem');
const keyFile = path.join(tmp, 'key.pem');

function httpsRequest(url, method, urlPath, { headers = {}, body, ca } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(urlPath, url), { method, headers, ca }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('TLS', () => {
  const srv = new KeywardenServer({ args: ['--tls-cert', certFile, '--tls-key', keyFile] });
  before(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    await srv.start();
  });
  after(() => srv.cleanup());

  test('listens on https and serves the API with the given certificate', async () => {
    assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = fs.readFileSync(certFile);
    const headers = { Authorization: `Bearer ${srv.token}`, 'Bluemix-Instance': srv.instance, 'Content-Type': KEY_TYPE };
    const created = await httpsRequest(srv.url, 'POST', '/api/v2/keys', {
      headers, ca, body: JSON.stringify(keyEnvelope(keyResource({ name: 'tls-key' }))),
    });
    assert.equal(created.status, 201, created.text);
    const id = created.json.resources[0].id;
    const w = await httpsRequest(srv.url, 'POST', `/api/v2/keys/${id}/actions/wrap`, { headers, ca, body: '{}' });
    assert.equal(w.status, 200, w.text);
    // An untrusting client refuses the self-signed certificate: it is really TLS.
    await assert.rejects(httpsRequest(srv.url, 'GET', '/healthz', {}));
  });

  test('the official SDK works over TLS (disableSslVerification)', async () => {
    const KeyProtectV2 = require('@ibm-cloud/ibm-key-protect/ibm-key-protect-api/v2');
    const { BearerTokenAuthenticator } = require('@ibm-cloud/ibm-key-protect/auth');
    const kp = new KeyProtectV2({
      authenticator: new BearerTokenAuthenticator({ bearerToken: srv.token }),
      serviceUrl: srv.url,
      disableSslVerification: true,
    });
    const body = keyEnvelope(keyResource({ name: 'tls-sdk' }));
    const res = await kp.createKey({ bluemixInstance: srv.instance, body, keyCreateBody: body });
    assert.equal(res.status, 201);
    const list = await kp.getKeys({ bluemixInstance: srv.instance });
    assert.ok(list.result.resources.length >= 1);
  });
});

describe('refusing to start', () => {
  // Runs the binary to completion; a server that starts anyway is killed after 20 s.
  function startFails(args) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keywarden-test-'));
    try {
      const r = spawnSync(binaryPath(), ['server', ...args(dir)], {
        env: { ...process.env, KEYWARDEN_ADMIN_TOKEN: crypto.randomBytes(16).toString('hex') },
        timeout: 20000, encoding: 'utf8',
      });
      assert.equal(r.signal, null, `the server did not exit by itself (${r.signal}):\n${r.stderr}`);
      assert.notEqual(r.status, 0, `expected a non-zero exit:\n${r.stderr}`);
      assert.ok(r.stderr.trim().length > 0, 'expected a reason on stderr');
      assert.ok(!/AddressSanitizer|runtime error:/.test(r.stderr), r.stderr);
      return r;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  test('an invalid --listen address', () => {
    startFails((d) => ['--data-dir', d, '--listen', 'not-an-address']);
    startFails((d) => ['--data-dir', d, '--listen', '127.0.0.1:99999']);
  });

  test('a data dir that is a regular file', () => {
    const f = path.join(tmp, 'not-a-dir');
    fs.writeFileSync(f, 'x');
    startFails(() => ['--data-dir', f, '--listen', '127.0.0.1:0']);
  });

  test('a TLS certificate or key that does not exist or is not PEM', () => {
    const junk = path.join(tmp, 'junk.pem');
    fs.writeFileSync(junk, 'not a certificate');
    startFails((d) => ['--data-dir', d, '--listen', '127.0.0.1:0', '--tls-cert', path.join(tmp, 'missing.pem'),
      '--tls-key', path.join(tmp, 'missing-key.pem')]);
    startFails((d) => ['--data-dir', d, '--listen', '127.0.0.1:0', '--tls-cert', junk, '--tls-key', junk]);
  });

  test('an unknown flag', () => {
    startFails((d) => ['--data-dir', d, '--listen', '127.0.0.1:0', '--no-such-flag']);
  });
});
