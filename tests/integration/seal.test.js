'use strict';
// Seals (docs/operations.md "Seals"): the Shamir seal end to end with the
// `keywarden operator` client — sealed is 503 everywhere but /healthz and
// the seal endpoints, init prints the shares once, unseal takes them one at
// a time (a wrong share is refused and progress kept), seal wipes the key,
// and a restart starts sealed — and the PKCS#11 seal against a SoftHSM2
// token in a temp dir (skipped, with the reason, without SoftHSM2).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { KeywardenServer, binaryPath } = require('../lib/server');
const { keyEnvelope, keyResource, KEY_TYPE } = require('../lib/kp');

// Runs the client; `input` goes to its stdin (not a terminal).
function cli(args, { input = '', env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(binaryPath(), args, {
      env: { PATH: process.env.PATH, HOME: os.tmpdir(), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

function assertSealed503(res, what) {
  assert.equal(res.status, 503, `${what}: ${res.text}`);
  assert.equal(res.json.metadata.collectionType, 'application/vnd.ibm.kms.error+json');
  assert.equal(res.json.resources[0].reasons[0].code, 'SERVICE_UNAVAILABLE_ERR');
  assert.match(res.json.resources[0].reasons[0].message, /sealed/);
}

// Every kind of route a client uses answers 503 while sealed.
async function assertAllSealed(srv, instance, keyId) {
  assert.equal((await srv.request('GET', '/healthz')).status, 200);
  assertSealed503(await srv.request('GET', '/readyz'), 'readyz');
  const h = { 'Bluemix-Instance': instance || '00000000-0000-4000-8000-000000000000' };
  assertSealed503(await srv.request('GET', '/api/v2/keys', { headers: h }), 'list keys');
  assertSealed503(await srv.request('POST', '/api/v2/keys', {
    headers: { ...h, 'Content-Type': KEY_TYPE },
    body: keyEnvelope(keyResource({ name: 'k' })) }), 'create key');
  if (keyId) {
    assertSealed503(await srv.request('POST', `/api/v2/keys/${keyId}/actions/wrap`, {
      headers: h, body: {}, json: true }), 'wrap');
  }
  assertSealed503(await srv.request('POST', '/identity/token', {
    token: null, raw: 'grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=x',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: null } }),
  'token');
  assertSealed503(await srv.request('GET', '/admin/v1/instances'), 'admin');
  // Unauthenticated callers get the same 503 (nothing else is said).
  assertSealed503(await srv.request('GET', '/api/v2/keys', { token: 'nope', headers: h }), 'no token');
}

describe('shamir seal', () => {
  const srv = new KeywardenServer({ args: ['--seal', 'shamir'], createInstance: false });
  const addr = () => ['--addr', srv.url];
  let shares;
  let instance;
  let keyId;
  let wdek;
  before(() => srv.start());
  after(() => srv.cleanup());

  async function unseal(share) {
    return cli(['operator', 'unseal', ...addr()], { input: `${share}\n` });
  }

  test('starts sealed and uninitialized: 503 everywhere, status open to all', async () => {
    await assertAllSealed(srv);
    const st = await srv.request('GET', '/admin/v1/seal', { token: null, headers: { Authorization: null } });
    assert.equal(st.status, 200);
    assert.deepEqual(st.json, { type: 'shamir', initialized: false, sealed: true,
      shares: 0, threshold: 0, progress: 0 });
    // An unseal before init says what to do.
    const early = await unseal('kw1-1-AAAA');
    assert.equal(early.code, 1);
    assert.match(early.stderr, /not initialized; run `keywarden operator init`/);
  });

  test('init needs an administrator and prints the shares once', async () => {
    const anon = await cli(['operator', 'init', '--shares', '5', '--threshold', '3', ...addr(),
      '--token', 'not-a-token-at-all']);
    assert.equal(anon.code, 1, anon.stderr);
    const bad = await cli(['operator', 'init', '--shares', '3', '--threshold', '1', ...addr(),
      '--token', srv.token]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /threshold must be at least 2/);

    const r = await cli(['operator', 'init', '--shares', '5', '--threshold', '3', ...addr(),
      '--token', srv.token, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.shares.length, 5);
    assert.equal(out.threshold, 3);
    out.shares.forEach((s, i) => assert.match(s, new RegExp(`^kw1-${i + 1}-[A-Za-z0-9_-]+$`)));
    shares = out.shares;
    // Never stored: no file of the data dir holds a share (or its data part).
    for (const f of fs.readdirSync(srv.dataDir)) {
      const bytes = fs.readFileSync(path.join(srv.dataDir, f)).toString('latin1');
      // The data part (after "kw1-<i>-"; base64url may itself hold '-').
      for (const s of shares) {
        assert.ok(!bytes.includes(s.slice(s.indexOf('-', 4) + 1)), `${f} holds a share`);
      }
    }
    const again = await cli(['operator', 'init', '--shares', '5', '--threshold', '3', ...addr(),
      '--token', srv.token]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already initialized/);
    await assertAllSealed(srv);  // init leaves it sealed
  });

  test('unseal: k of T, wrong and repeated shares refused without losing progress', async () => {
    let r = await unseal(shares[0]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Sealed: 1 of 3 shares entered/);

    const corrupt = shares[1].slice(0, -2) + (shares[1].endsWith('AA') ? 'BB' : 'AA');
    r = await unseal(corrupt);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BAD_BODY_ERR: .*share refused.*kept/);
    r = await unseal(shares[0]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /CONFLICT_ERR: .*share 1 was already entered/);
    r = await unseal('');
    assert.equal(r.code, 2);  // usage: nothing typed

    const st = await srv.request('GET', '/admin/v1/seal');
    assert.equal(st.json.progress, 1);
    await assertAllSealed(srv);

    r = await unseal(shares[3]);
    assert.match(r.stdout, /2 of 3/);
    r = await unseal(shares[4]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Unsealed/);
    assert.equal((await srv.request('GET', '/readyz')).status, 200);
  });

  test('unsealed, the API works', async () => {
    instance = await srv.createInstance('sealed-test');
    const h = { 'Bluemix-Instance': instance };
    const created = await srv.request('POST', '/api/v2/keys', {
      headers: { ...h, 'Content-Type': KEY_TYPE }, body: keyEnvelope(keyResource({ name: 'root' })) });
    assert.equal(created.status, 201, created.text);
    keyId = created.json.resources[0].id;
    const w = await srv.request('POST', `/api/v2/keys/${keyId}/actions/wrap`, { headers: h, body: {}, json: true });
    assert.equal(w.status, 200, w.text);
    wdek = w.json;
  });

  test('seal wipes the key: 503 again, then other shares unseal the same key', async () => {
    const anon = await cli(['operator', 'seal', ...addr(), '--token', 'x'.repeat(40)]);
    assert.equal(anon.code, 1);
    const r = await cli(['operator', 'seal', ...addr(), '--token', srv.token]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Sealed/);
    await assertAllSealed(srv, instance, keyId);
    const st = await cli(['operator', 'status', ...addr(), '-o', 'json']);
    assert.deepEqual(JSON.parse(st.stdout).sealed, true);

    for (const i of [1, 2, 3]) assert.equal((await unseal(shares[i])).code, 0);
    const h = { 'Bluemix-Instance': instance };
    const u = await srv.request('POST', `/api/v2/keys/${keyId}/actions/unwrap`, {
      headers: h, body: { ciphertext: wdek.ciphertext }, json: true });
    assert.equal(u.status, 200, u.text);
    assert.equal(u.json.plaintext, wdek.plaintext);
  });

  test('a restart starts sealed; a --seal file node on this database is refused', async () => {
    await srv.restart();
    await assertAllSealed(srv, instance, keyId);
    for (const i of [4, 0, 2]) assert.equal((await unseal(shares[i])).code, 0);
    const h = { 'Bluemix-Instance': instance };
    const u = await srv.request('POST', `/api/v2/keys/${keyId}/actions/unwrap`, {
      headers: h, body: { ciphertext: wdek.ciphertext }, json: true });
    assert.equal(u.status, 200, u.text);

    await srv.stop();
    const res = spawnSync(binaryPath(), ['server', '--data-dir', srv.dataDir, '--listen', '127.0.0.1:0'],
      { env: { ...process.env, KEYWARDEN_ADMIN_TOKEN: srv.token }, encoding: 'utf8', timeout: 30000 });
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /held by the shamir seal.*start it with --seal shamir/);
    assert.ok(!fs.existsSync(path.join(srv.dataDir, 'master.key')));
    await srv.start();  // for cleanup's graceful stop
  });
});

const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const SOFTHSM_UTIL = '/usr/bin/softhsm2-util';
const haveSoftHsm = fs.existsSync(SOFTHSM_MODULE) && fs.existsSync(SOFTHSM_UTIL);

describe('pkcs11 seal (SoftHSM2)', { skip: haveSoftHsm ? false :
  `SoftHSM2 is not installed (${SOFTHSM_MODULE}); scripts/deps.sh test installs softhsm2` }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keywarden-p11-'));
  const conf = path.join(tmp, 'softhsm2.conf');
  const pin = 'user-pin-2468';
  const env = { SOFTHSM2_CONF: conf, KEYWARDEN_PKCS11_PIN: pin };
  const p11 = (key) => ['--seal', 'pkcs11', '--pkcs11-module', SOFTHSM_MODULE,
    '--pkcs11-token', 'keywarden', '--pkcs11-key', key];
  const srv = new KeywardenServer({ args: p11('master-wrap'), env });
  before(async () => {
    fs.mkdirSync(path.join(tmp, 'tokens'));
    fs.writeFileSync(conf, `directories.tokendir = ${path.join(tmp, 'tokens')}\nobjectstore.backend = file\n`);
    execFileSync(SOFTHSM_UTIL, ['--init-token', '--free', '--label', 'keywarden', '--pin', pin,
      '--so-pin', 'so-pin-1357'], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'ignore' });
    await srv.start();
  });
  after(async () => {
    await srv.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('unseals at start; the master key survives restarts, seal and unseal', async () => {
    const h = { 'Bluemix-Instance': srv.instance };
    const created = await srv.request('POST', '/api/v2/keys', {
      headers: { ...h, 'Content-Type': KEY_TYPE }, body: keyEnvelope(keyResource({ name: 'root' })) });
    assert.equal(created.status, 201, created.text);
    const id = created.json.resources[0].id;
    const w = await srv.request('POST', `/api/v2/keys/${id}/actions/wrap`, { headers: h, body: {}, json: true });
    assert.equal(w.status, 200);
    const st = await srv.request('GET', '/admin/v1/seal');
    assert.equal(st.json.type, 'pkcs11');
    assert.equal(st.json.sealed, false);
    assert.ok(!fs.existsSync(path.join(srv.dataDir, 'master.key')));

    await srv.restart();
    const unwrap = () => srv.request('POST', `/api/v2/keys/${id}/actions/unwrap`, {
      headers: h, body: { ciphertext: w.json.ciphertext }, json: true });
    assert.equal((await unwrap()).status, 200);

    const sealed = await cli(['operator', 'seal', '--addr', srv.url, '--token', srv.token]);
    assert.equal(sealed.code, 0, sealed.stderr);
    assert.equal((await unwrap()).status, 503);
    // Without a share: an administrator asks the token again.
    const anon = await cli(['operator', 'unseal', '--addr', srv.url]);
    assert.equal(anon.code, 1);
    assert.match(anon.stderr, /FORBIDDEN|Forbidden/);
    const r = await cli(['operator', 'unseal', '--addr', srv.url, '--token', srv.token]);
    assert.equal(r.code, 0, r.stderr);
    const u = await unwrap();
    assert.equal(u.status, 200, u.text);
    assert.equal(u.json.plaintext, w.json.plaintext);
  });

  test('another token key, a wrong PIN or no PIN: refused at start with the reason', async () => {
    await srv.stop();
    const start = (args, extraEnv) => spawnSync(binaryPath(),
      ['server', '--data-dir', srv.dataDir, '--listen', '127.0.0.1:0', ...args],
      { env: { ...process.env, KEYWARDEN_ADMIN_TOKEN: srv.token, ...extraEnv }, encoding: 'utf8',
        timeout: 30000 });
    let res = start(p11('another-key'), env);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /no AES key labelled another-key/);
    res = start(p11('master-wrap'), { ...env, KEYWARDEN_PKCS11_PIN: 'wrong-pin-000' });
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /C_Login/);
    assert.ok(!res.stderr.includes('wrong-pin-000'));
    res = start(p11('master-wrap'), { SOFTHSM2_CONF: conf, KEYWARDEN_PKCS11_PIN: '' });
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /KEYWARDEN_PKCS11_PIN/);
    await srv.start();
  });
});

describe('file seal data dir', () => {
  const srv = new KeywardenServer();
  before(() => srv.start());
  after(() => srv.cleanup());

  test('records its seal; another --seal on it is refused with the reason', async () => {
    const st = await srv.request('GET', '/admin/v1/seal');
    assert.equal(st.status, 200);
    assert.equal(st.json.type, 'file');
    assert.equal(st.json.sealed, false);
    assert.match(st.json.keyId, /^[0-9a-f-]{36}$/);
    await srv.stop();
    const res = spawnSync(binaryPath(),
      ['server', '--data-dir', srv.dataDir, '--listen', '127.0.0.1:0', '--seal', 'shamir'],
      { env: { ...process.env, KEYWARDEN_ADMIN_TOKEN: srv.token }, encoding: 'utf8', timeout: 30000 });
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /held by the file seal.*start it with --seal file/);
    await srv.start();
    assert.equal((await srv.request('GET', '/readyz')).status, 200);
  });
});
