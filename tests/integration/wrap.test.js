'use strict';
// wrap / unwrap / rewrap (keyprotect-api.md §4.2–§4.4), the deprecated
// ?action= form (§4.1), body/content-type leniency (§1.4, §19, §22).

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useServer } = require('../lib/server');
const {
  desc, expectStatus, expectError, createRootKey, createStandardKey, action, wrap, unwrap, randB64,
} = require('../lib/kp');

const srv = useServer({ args: ['--test-clock'] });

describe('wrap and unwrap', () => {
  let key;
  before(async () => { key = await createRootKey(srv, { name: 'wrap-key' }); });

  test('wrap without plaintext generates a 32-byte DEK and returns it with the WDEK', async () => {
    const w = await wrap(srv, key.id, {});
    assert.equal(Buffer.from(w.plaintext, 'base64').length, 32);
    assert.ok(typeof w.ciphertext === 'string' && w.ciphertext.length > 0);
    assert.equal(w.keyVersion.id, key.id);
    const u = await unwrap(srv, key.id, { ciphertext: w.ciphertext });
    assert.equal(u.plaintext, w.plaintext);
    assert.equal(u.keyVersion.id, key.id);
    assert.equal(u.rewrappedKeyVersion, undefined);
    assert.equal(u.ciphertext, undefined);
  });

  test('two generated DEKs differ, and so do two WDEKs of the same DEK', async () => {
    const a = await wrap(srv, key.id, {});
    const b = await wrap(srv, key.id, {});
    assert.notEqual(a.plaintext, b.plaintext);
    const dek = randB64(32);
    const c = await wrap(srv, key.id, { plaintext: dek });
    const d = await wrap(srv, key.id, { plaintext: dek });
    assert.notEqual(c.ciphertext, d.ciphertext);
  });

  for (const n of [1, 7, 16, 24, 32, 64, 1024]) {
    test(`supplied ${n}-byte plaintext round-trips`, async () => {
      const dek = randB64(n);
      const w = await wrap(srv, key.id, { plaintext: dek });
      assert.equal(w.keyVersion.id, key.id);
      const u = await unwrap(srv, key.id, { ciphertext: w.ciphertext });
      assert.equal(u.plaintext, dek);
    });
  }

  test('aad binds the WDEK: same list unwraps; other order, subset, none or extra fail with 422', async () => {
    const dek = randB64(32);
    const aad = ['tenant=a', 'bucket=b'];
    const w = await wrap(srv, key.id, { plaintext: dek, aad });
    const u = await unwrap(srv, key.id, { ciphertext: w.ciphertext, aad });
    assert.equal(u.plaintext, dek);
    for (const other of [[...aad].reverse(), [aad[0]], [], undefined, [...aad, 'x'], ['tenant=a', 'bucket=c'],
                         ['tenant=abucket=b'], ['tenant=a', 'bucket=b', '']]) {
      const body = { ciphertext: w.ciphertext };
      if (other !== undefined) body.aad = other;
      const res = await action(srv, key.id, 'unwrap', body);
      expectError(res, 422, 'UNPROCESSABLE_CIPHERTEXT_ERR');
    }
    // A WDEK made without aad does not unwrap with one.
    const w2 = await wrap(srv, key.id, { plaintext: dek });
    expectError(await action(srv, key.id, 'unwrap', { ciphertext: w2.ciphertext, aad: ['x'] }),
                422, 'UNPROCESSABLE_CIPHERTEXT_ERR');
  });

  test('every flipped byte and every truncation of a WDEK fails with the same 422', async () => {
    const w = await wrap(srv, key.id, { plaintext: randB64(32), aad: ['ctx'] });
    const raw = Buffer.from(w.ciphertext, 'base64');
    const messages = new Set();
    const positions = raw.length <= 160 ? [...raw.keys()] : [...Array(160).keys()].map((i) => Math.floor(i * raw.length / 160));
    for (const i of positions) {
      const t = Buffer.from(raw);
      t[i] ^= 0x01;
      const res = await action(srv, key.id, 'unwrap', { ciphertext: t.toString('base64'), aad: ['ctx'] });
      const r = expectError(res, 422, 'UNPROCESSABLE_CIPHERTEXT_ERR');
      messages.add(r.reasons[0].message);
    }
    for (const len of [0, 1, Math.floor(raw.length / 2), raw.length - 1]) {
      if (len === 0) continue;  // empty ciphertext is a field error, below
      const res = await action(srv, key.id, 'unwrap', { ciphertext: raw.subarray(0, len).toString('base64'), aad: ['ctx'] });
      const r = expectError(res, 422, 'UNPROCESSABLE_CIPHERTEXT_ERR');
      messages.add(r.reasons[0].message);
    }
    const longer = Buffer.concat([raw, Buffer.from([0])]).toString('base64');
    expectError(await action(srv, key.id, 'unwrap', { ciphertext: longer, aad: ['ctx'] }), 422,
                'UNPROCESSABLE_CIPHERTEXT_ERR');
    assert.equal(messages.size, 1, `decryption failures must be indistinguishable: ${[...messages].join(' | ')}`);
  });

  test('a WDEK of another key does not unwrap with this key', async () => {
    const other = await createRootKey(srv, { name: 'other-wrap-key' });
    const w = await wrap(srv, other.id, {});
    expectError(await action(srv, key.id, 'unwrap', { ciphertext: w.ciphertext }), 422, 'UNPROCESSABLE_CIPHERTEXT_ERR');
  });

  test('invalid base64: 400 INVALID_FIELD_ERR naming the field and byte', async () => {
    let res = await action(srv, key.id, 'unwrap', { ciphertext: 'abc$def=' });
    expectError(res, 400, 'INVALID_FIELD_ERR', { msgIncludes: 'illegal base64 data at input byte 3', target: 'ciphertext' });
    res = await action(srv, key.id, 'wrap', { plaintext: '%%%%' });
    expectError(res, 400, 'INVALID_FIELD_ERR', { msgIncludes: 'illegal base64 data at input byte 0', target: 'plaintext' });
    res = await action(srv, key.id, 'rewrap', { ciphertext: 'AAAA!AAA' });
    expectError(res, 400, 'INVALID_FIELD_ERR', { msgIncludes: 'illegal base64 data at input byte 4', target: 'ciphertext' });
  });

  test('unwrap and rewrap without a body: 400 NO_BODY_ERR', async () => {
    expectError(await action(srv, key.id, 'unwrap', undefined), 400, 'NO_BODY_ERR');
    expectError(await action(srv, key.id, 'rewrap', undefined), 400, 'NO_BODY_ERR');
  });

  test('unwrap without ciphertext ({} or null): 400', async () => {
    expectError(await action(srv, key.id, 'unwrap', {}), 400, ['BAD_BODY_ERR', 'INVALID_FIELD_ERR', 'NO_BODY_ERR']);
    expectError(await action(srv, key.id, 'unwrap', 'null'), 400, ['BAD_BODY_ERR', 'INVALID_FIELD_ERR', 'NO_BODY_ERR']);
  });

  test('malformed JSON and wrong types: 400', async () => {
    expectError(await action(srv, key.id, 'wrap', '{"plaintext":'), 400, 'BAD_BODY_ERR');
    expectError(await action(srv, key.id, 'wrap', { plaintext: 42 }), 400, ['BAD_BODY_ERR', 'INVALID_FIELD_ERR']);
    expectError(await action(srv, key.id, 'wrap', { aad: 'not-a-list' }), 400, ['BAD_BODY_ERR', 'INVALID_FIELD_ERR']);
    expectError(await action(srv, key.id, 'wrap', { aad: [1, 2] }), 400, ['BAD_BODY_ERR', 'INVALID_FIELD_ERR']);
  });

  test('aad items over 255 characters: 400', async () => {
    expectError(await action(srv, key.id, 'wrap', { aad: ['a'.repeat(256)] }), 400, ['BAD_BODY_ERR', 'INVALID_FIELD_ERR']);
    await wrap(srv, key.id, { aad: ['a'.repeat(255)] });
  });

  test('wrap body may be empty, {} or null, with any or no Content-Type', async () => {
    for (const [body, ct] of [[undefined, null], [undefined, 'application/json'], ['{}', null], ['null', null],
      ['{}', 'application/vnd.ibm.kms.key_action_wrap+json'], ['{}', 'application/vnd.ibm.kms.key_action+json'],
      ['{}', 'text/plain']]) {
      const res = await action(srv, key.id, 'wrap', body, { headers: { 'Content-Type': ct } });
      expectStatus(res, 200, `body ${body} content-type ${ct}`);
      assert.equal(Buffer.from(res.json.plaintext, 'base64').length, 32, desc(res));
    }
  });

  test('JSON field names are case-insensitive ({"Plaintext"}, {"Ciphertext","AAD"})', async () => {
    const dek = randB64(32);
    const w = await wrap(srv, key.id, { Plaintext: dek, AAD: ['c'] });
    assert.equal(w.plaintext, undefined, 'a supplied plaintext must not be replaced by a generated one');
    const u = await unwrap(srv, key.id, { Ciphertext: w.ciphertext, Aad: ['c'] });
    assert.equal(u.plaintext, dek);
  });

  test('unknown key: 404 NOT_FOUND_ERR', async () => {
    const id = crypto.randomUUID();
    expectError(await action(srv, id, 'wrap', {}), 404, 'NOT_FOUND_ERR');
    expectError(await action(srv, id, 'unwrap', { ciphertext: 'AAAA' }), 404, 'NOT_FOUND_ERR');
  });
});

describe('rotation, unwrap of old versions and rewrap', () => {
  test('unwrap of an old-version WDEK returns ciphertext + rewrappedKeyVersion; rewrap moves it to the latest', async () => {
    const key = await createRootKey(srv, { name: 'rewrap-key' });
    const dek = randB64(32);
    const old = await wrap(srv, key.id, { plaintext: dek, aad: ['x'] });
    assert.equal(old.keyVersion.id, key.id);

    expectStatus(await action(srv, key.id, 'rotate', {}), 204, 'rotate');
    const vres = await srv.request('GET', `/api/v2/keys/${key.id}/versions`);
    expectStatus(vres, 200);
    const newVersion = vres.json.resources[0].id;
    assert.notEqual(newVersion, key.id);

    // Unwrap under an old version: plaintext plus the same DEK wrapped by the latest version.
    const u = await unwrap(srv, key.id, { ciphertext: old.ciphertext, aad: ['x'] });
    assert.equal(u.plaintext, dek);
    assert.equal(u.keyVersion.id, key.id);
    assert.equal(u.rewrappedKeyVersion && u.rewrappedKeyVersion.id, newVersion, JSON.stringify(u));
    assert.ok(u.ciphertext && u.ciphertext !== old.ciphertext);
    const u2 = await unwrap(srv, key.id, { ciphertext: u.ciphertext, aad: ['x'] });
    assert.equal(u2.plaintext, dek);
    assert.equal(u2.keyVersion.id, newVersion);
    assert.equal(u2.rewrappedKeyVersion, undefined);

    // Rewrap.
    const rres = await action(srv, key.id, 'rewrap', { ciphertext: old.ciphertext, aad: ['x'] });
    expectStatus(rres, 200, 'rewrap');
    const r = rres.json;
    assert.equal(r.keyVersion.id, key.id);
    assert.equal(r.rewrappedKeyVersion.id, newVersion);
    assert.equal(r.plaintext, undefined, 'rewrap must not return the DEK');
    const u3 = await unwrap(srv, key.id, { ciphertext: r.ciphertext, aad: ['x'] });
    assert.equal(u3.plaintext, dek);
    assert.equal(u3.keyVersion.id, newVersion);

    // New wraps use the latest version; the old WDEK still unwraps.
    const w = await wrap(srv, key.id, {});
    assert.equal(w.keyVersion.id, newVersion);
    assert.equal((await unwrap(srv, key.id, { ciphertext: old.ciphertext, aad: ['x'] })).plaintext, dek);

    // Rewrap with a wrong aad is 422.
    expectError(await action(srv, key.id, 'rewrap', { ciphertext: old.ciphertext, aad: ['y'] }),
                422, 'UNPROCESSABLE_CIPHERTEXT_ERR');
  });

  test('rewrap of a latest-version WDEK answers with the same version twice', async () => {
    const key = await createRootKey(srv, { name: 'rewrap-latest' });
    const w = await wrap(srv, key.id, {});
    const res = await action(srv, key.id, 'rewrap', { ciphertext: w.ciphertext });
    expectStatus(res, 200);
    assert.equal(res.json.keyVersion.id, key.id);
    assert.equal(res.json.rewrappedKeyVersion.id, key.id);
    assert.equal((await unwrap(srv, key.id, { ciphertext: res.json.ciphertext })).plaintext, w.plaintext);
  });
});

describe('deprecated POST /keys/{id}?action=', () => {
  const ACTION_CT = 'application/vnd.ibm.kms.key_action+json';
  const legacy = (id, a, body) => srv.request('POST', `/api/v2/keys/${id}?action=${a}`, {
    headers: { 'Content-Type': ACTION_CT }, body,
  });

  test('wrap, unwrap, rewrap, rotate, disable, enable', async () => {
    const key = await createRootKey(srv, { name: 'legacy' });
    const w = await legacy(key.id, 'wrap', {});
    expectStatus(w, 200, 'legacy wrap');
    assert.equal(Buffer.from(w.json.plaintext, 'base64').length, 32);
    const u = await legacy(key.id, 'unwrap', { ciphertext: w.json.ciphertext });
    expectStatus(u, 200, 'legacy unwrap');
    assert.equal(u.json.plaintext, w.json.plaintext);
    expectStatus(await legacy(key.id, 'rotate', {}), 204, 'legacy rotate');
    const r = await legacy(key.id, 'rewrap', { ciphertext: w.json.ciphertext });
    expectStatus(r, 200, 'legacy rewrap');
    assert.notEqual(r.json.rewrappedKeyVersion.id, key.id);
    expectStatus(await legacy(key.id, 'disable', undefined), 204, 'legacy disable');
    expectError(await legacy(key.id, 'wrap', {}), 409, 'KEY_ACTION_INVALID_STATE_ERR');
    await srv.advanceClock(31);
    expectStatus(await legacy(key.id, 'enable', undefined), 204, 'legacy enable');
    expectStatus(await legacy(key.id, 'wrap', {}), 200, 'legacy wrap after enable');
  });

  test('unknown action: 400', async () => {
    const key = await createRootKey(srv, { name: 'legacy-bad' });
    const res = await legacy(key.id, 'explode', {});
    assert.ok(res.status === 400 || res.status === 404 || res.status === 405, desc(res));
    expectError(res, res.status, null);
  });
});

describe('actions on a standard key', () => {
  test('wrap, unwrap, rewrap, rotate, disable, enable: 400 KEY_ROOT_REQ_ERR', async () => {
    const key = await createStandardKey(srv, { name: 'std-actions' });
    for (const [a, body] of [['wrap', {}], ['unwrap', { ciphertext: 'AAAA' }], ['rewrap', { ciphertext: 'AAAA' }],
      ['rotate', {}], ['disable', undefined], ['enable', undefined]]) {
      const res = await action(srv, key.id, a, body);
      expectError(res, 400, 'KEY_ROOT_REQ_ERR');
    }
  });
});
