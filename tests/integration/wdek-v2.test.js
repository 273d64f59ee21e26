'use strict';
// WDEK format 2 (docs/formats/wdek.md): bound to the key material and the
// aad list, not to the key or instance. Key Protect: "root keys that contain
// the same key material can unwrap the same WDEK" (keyprotect-api.md §4.3) —
// the same material imported in two instances, or in two servers (two
// regions, each with its own master key), unwraps what the other wrapped.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const { useServer } = require('../lib/server');
const { expectError, createRootKey, action, wrap, unwrap, randB64 } = require('../lib/kp');

const east = useServer();
const west = useServer();  // another server: another data dir and master key

describe('WDEK v2: same material, other key', () => {
  let material;
  let keyEast;
  let otherInstance;
  let keyEast2;
  let keyWest;
  before(async () => {
    material = randB64(32);
    keyEast = await createRootKey(east, { name: 'dr-east', payload: material });
    otherInstance = await east.createInstance('dr-second');
    keyEast2 = await createRootKey(east, { name: 'dr-east-2', payload: material },
                                   { instance: otherInstance });
    keyWest = await createRootKey(west, { name: 'dr-west', payload: material });
  });

  test('new wraps are format 2 of the documented size', async () => {
    const w = await wrap(east, keyEast.id, { plaintext: randB64(32) });
    const raw = Buffer.from(w.ciphertext, 'base64');
    assert.equal(raw[0], 2);
    assert.equal(raw.length, 1 + 16 + 32 + 12 + 32 + 16);
  });

  test('a WDEK wrapped in one instance unwraps in another instance with the same imported material', async () => {
    const dek = randB64(32);
    const aad = ['tenant=a', 'bucket=b'];
    const w = await wrap(east, keyEast.id, { plaintext: dek, aad });
    const u = await unwrap(east, keyEast2.id, { ciphertext: w.ciphertext, aad }, { instance: otherInstance });
    assert.equal(u.plaintext, dek);
    assert.equal(u.keyVersion.id, keyEast2.id);
    assert.equal(u.ciphertext, undefined, 'the primary version opened it: no rewrap');
  });

  test('and in another server (another master key) with the same imported material, both ways', async () => {
    const dek = randB64(24);
    const aad = ['ctx'];
    const w = await wrap(east, keyEast.id, { plaintext: dek, aad });
    assert.equal((await unwrap(west, keyWest.id, { ciphertext: w.ciphertext, aad })).plaintext, dek);
    const back = await wrap(west, keyWest.id, { plaintext: dek, aad });
    assert.equal((await unwrap(east, keyEast.id, { ciphertext: back.ciphertext, aad })).plaintext, dek);
    const r = await action(west, keyWest.id, 'rewrap', { ciphertext: w.ciphertext, aad });
    assert.equal(r.status, 200);
    assert.equal((await unwrap(east, keyEast.id, { ciphertext: r.json.ciphertext, aad })).plaintext, dek);
  });

  test('the other key still needs the same aad list, and other material never opens it', async () => {
    const aad = ['tenant=a', 'bucket=b'];
    const w = await wrap(east, keyEast.id, { aad });
    for (const other of [[], [...aad].reverse(), [aad[0]], [...aad, 'x'], ['tenant=a', 'bucket=c']]) {
      expectError(await action(west, keyWest.id, 'unwrap', { ciphertext: w.ciphertext, aad: other }),
                  422, 'UNPROCESSABLE_CIPHERTEXT_ERR');
    }
    const stranger = await createRootKey(west, { name: 'dr-stranger', payload: randB64(32) });
    expectError(await action(west, stranger.id, 'unwrap', { ciphertext: w.ciphertext, aad }),
                422, 'UNPROCESSABLE_CIPHERTEXT_ERR');
    const generated = await createRootKey(east, { name: 'dr-generated' });
    expectError(await action(east, generated.id, 'unwrap', { ciphertext: w.ciphertext, aad }),
                422, 'UNPROCESSABLE_CIPHERTEXT_ERR');
  });

  test('after the other key rotates, the WDEK opens by its old version and comes back rewrapped', async () => {
    const key = await createRootKey(west, { name: 'dr-rotating', payload: material });
    const dek = randB64(32);
    const w = await wrap(east, keyEast.id, { plaintext: dek });
    const rot = await action(west, key.id, 'rotate', { payload: randB64(32) });
    assert.equal(rot.status, 204);
    const u = await unwrap(west, key.id, { ciphertext: w.ciphertext });
    assert.equal(u.plaintext, dek);
    assert.equal(u.keyVersion.id, key.id);
    assert.ok(u.rewrappedKeyVersion && u.rewrappedKeyVersion.id !== key.id, JSON.stringify(u));
    assert.equal(Buffer.from(u.ciphertext, 'base64')[0], 2);
    expectError(await action(east, keyEast.id, 'unwrap', { ciphertext: u.ciphertext }),
                422, 'UNPROCESSABLE_CIPHERTEXT_ERR');
  });
});
