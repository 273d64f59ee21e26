'use strict';
// Rekey under the Shamir seal (docs/operations.md "Rekey the master key"),
// with the real `keywarden operator` client: the rekey prints a new share
// set once and re-seals nothing until T of the new shares are entered with
// `operator rekey --verify` (the old shares unseal until then, a wrong share
// is refused and progress kept); after the finish only the new shares
// unseal. A server SIGKILLed before verification unseals with the old
// shares and the new ones still verify. A rekey not verified is cancelled.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const os = require('node:os');
const { KeywardenServer, binaryPath } = require('../lib/server');
const { keyEnvelope, keyResource, KEY_TYPE } = require('../lib/kp');

// Runs the client; `input` goes to its stdin (not a terminal).
function cli(args, { input = '' } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(binaryPath(), args, {
      env: { PATH: process.env.PATH, HOME: os.tmpdir() },
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

describe('shamir rekey', () => {
  const srv = new KeywardenServer({ args: ['--seal', 'shamir'], createInstance: false });
  const addr = () => ['--addr', srv.url];
  const admin = () => [...addr(), '--token', srv.token];
  let initShares;  // the init's shares
  let firstShares; // the first rekey's
  let instance;
  const wdeks = [];
  before(() => srv.start());
  after(() => srv.cleanup());

  async function unseal(share) {
    return cli(['operator', 'unseal', ...addr()], { input: `${share}\n` });
  }
  async function verify(share) {
    return cli(['operator', 'rekey', '--verify', ...admin()], { input: `${share}\n` });
  }
  async function status() {
    const r = await cli(['operator', 'status', ...addr(), '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  }
  async function unsealWith(shares) {
    for (const s of shares) {
      const r = await unseal(s);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await status()).sealed, false);
  }
  async function expectAllUnwrap(when) {
    const h = { 'Bluemix-Instance': instance };
    for (const w of wdeks) {
      const u = await srv.request('POST', `/api/v2/keys/${w.keyId}/actions/unwrap`, {
        headers: h, body: { ciphertext: w.ciphertext }, json: true });
      assert.equal(u.status, 200, `${when}: ${u.text}`);
      assert.equal(u.json.plaintext, w.plaintext, when);
    }
  }
  async function wrapNewKeys(prefix, n) {
    const h = { 'Bluemix-Instance': instance };
    for (let i = 0; i < n; i++) {
      const created = await srv.request('POST', '/api/v2/keys', {
        headers: { ...h, 'Content-Type': KEY_TYPE },
        body: keyEnvelope(keyResource({ name: `${prefix}-${i}` })) });
      assert.equal(created.status, 201, created.text);
      const keyId = created.json.resources[0].id;
      const w = await srv.request('POST', `/api/v2/keys/${keyId}/actions/wrap`,
        { headers: h, body: {}, json: true });
      assert.equal(w.status, 200, w.text);
      wdeks.push({ keyId, ciphertext: w.json.ciphertext, plaintext: w.json.plaintext });
    }
  }

  test('init 3-of-5, unseal, keys and WDEKs', async () => {
    const r = await cli(['operator', 'init', '--shares', '5', '--threshold', '3', ...admin(),
      '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    initShares = JSON.parse(r.stdout).shares;
    await unsealWith(initShares.slice(0, 3));
    instance = await srv.createInstance('shamir-rekey');
    await wrapNewKeys('before', 4);
  });

  test('rekey: 5 new shares once; 2 verified is not enough; a wrong share keeps progress; 3 finish', async () => {
    const before = await status();
    const r = await cli(['operator', 'rekey', ...admin(), '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.shares.length, 5);
    assert.equal(out.threshold, 3);
    assert.notEqual(out.keyId, before.keyId);
    assert.equal(out.seal.rekey.verified, false);
    firstShares = out.shares;
    for (const s of firstShares) assert.ok(!srv.logTail(1 << 20).includes(s.slice(6)), 'a share in the log');

    let v = await verify(firstShares[0]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /Waiting for verification: 1 of 3 new shares entered/);
    v = await verify(firstShares[1]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /2 of 3 new shares/);
    // An old share, a repeated one and a typo are refused; progress stays.
    v = await verify(initShares[3]);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /BAD_BODY_ERR: .*kept/);
    v = await verify(firstShares[1]);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /CONFLICT_ERR: .*already entered/);
    let st = await status();
    assert.equal(st.keyId, before.keyId, 'still the old key');
    assert.equal(st.rekey.verified, false);
    assert.equal(st.rekey.verifyProgress, 2);
    // Key versions and the token signing key: none re-sealed yet.
    assert.ok(out.seal.rekey.remaining >= 4, JSON.stringify(out.seal));
    assert.equal(st.rekey.remaining, out.seal.rekey.remaining, 'nothing re-sealed before verification');
    await wrapNewKeys('during', 1);

    v = await verify(firstShares[4]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /Verified/);
    const w = await cli(['operator', 'rekey', '--status', '--wait', ...admin()]);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /No rekey in progress/);
    st = await status();
    assert.equal(st.keyId, out.keyId);
    assert.equal(st.rekey, undefined);
    await expectAllUnwrap('after the finish');
  });

  test('after a restart the old shares are refused and the new ones unseal', async () => {
    await srv.restart();
    const old = await unseal(initShares[0]);
    assert.equal(old.code, 1);
    assert.match(old.stderr, /earlier init/);
    await unsealWith([firstShares[2], firstShares[3], firstShares[0]]);
    await expectAllUnwrap('after the restart');
  });

  test('SIGKILL before verification: the old shares unseal, the new ones verify and finish', async () => {
    const r = await cli(['operator', 'rekey', '--shares', '4', '--threshold', '2', ...admin()]);
    assert.equal(r.code, 0, r.stderr);
    const next = [...r.stdout.matchAll(/New unseal share \d+: (kw1-\S+)/g)].map((m) => m[1]);
    assert.equal(next.length, 4, r.stdout);
    assert.match(r.stdout, /Threshold: 2 of 4 shares/);
    const v = await verify(next[3]);
    assert.equal(v.code, 0, v.stderr);

    const killed = await srv.kill('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    await srv.start();
    const early = await unseal(next[0]);
    assert.equal(early.code, 1, 'the new shares do not unseal before the finish');
    await unsealWith([firstShares[1], firstShares[4], firstShares[2]]);
    let st = await status();
    assert.equal(st.rekey.verified, false);
    assert.equal(st.rekey.verifyProgress, 0, 'progress is kept in memory only');
    await expectAllUnwrap('unverified, after SIGKILL');

    for (const s of [next[1], next[2]]) assert.equal((await verify(s)).code, 0);
    const w = await cli(['operator', 'rekey', '--status', '--wait', ...admin()]);
    assert.equal(w.code, 0, w.stderr);
    st = await status();
    assert.equal(st.threshold, 2);
    assert.equal(st.shares, 4);

    await srv.restart();
    assert.equal((await unseal(firstShares[0])).code, 1);
    await unsealWith([next[0], next[3]]);
    await expectAllUnwrap('after the second rekey');
  });

  test('cancel before verification discards the new shares', async () => {
    const before = await status();
    const r = await cli(['operator', 'rekey', ...admin(), '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const discarded = JSON.parse(r.stdout).shares;
    assert.equal(discarded.length, 4);
    const c = await cli(['operator', 'rekey', '--cancel', ...admin()]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /No rekey in progress/);
    const st = await status();
    assert.equal(st.keyId, before.keyId);
    assert.equal(st.rekey, undefined);
    const v = await verify(discarded[0]);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /no rekey is in progress/);
    await expectAllUnwrap('after the cancel');
  });
});
