'use strict';
// Deleted material is not readable (issue 10 §3; keyprotect-api.md §3.4, §5):
// GET /keys/{id} of a Destroyed key answers with its metadata and no payload;
// wrap, unwrap, rewrap and rotate of a Destroyed key are refused. A restored
// key serves its payload again. Expired (Deactivated) standard keys still
// serve it, as expired root keys still unwrap.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { useServer } = require('../lib/server');
const {
  desc, expectStatus, expectError, createRootKey, createStandardKey, action, wrap, randB64,
} = require('../lib/kp');

const srv = useServer({ args: ['--test-clock'] });

const getKey = (id) => srv.request('GET', `/api/v2/keys/${id}`);

describe('deleted key material', () => {
  test('GET /keys/{id} of a deleted standard key: 200, state 5, no payload; restore brings it back', async () => {
    const payload = randB64(48);
    const key = await createStandardKey(srv, { name: 'deleted-std', payload });
    let res = await getKey(key.id);
    expectStatus(res, 200);
    assert.equal(res.json.resources[0].payload, payload);

    expectStatus(await srv.request('DELETE', `/api/v2/keys/${key.id}`), 204, 'delete');
    res = await getKey(key.id);
    expectStatus(res, 200, 'get of a deleted key');
    const k = res.json.resources[0];
    assert.equal(k.state, 5, desc(res));
    assert.equal(k.deleted, true, desc(res));
    assert.equal(k.payload, undefined, `a deleted key's payload must not be served: ${desc(res)}`);
    assert.ok(!res.text.includes(payload), 'the payload appears nowhere in the answer');

    // The deletion representation does not carry it either.
    const other = await createStandardKey(srv, { name: 'deleted-std-2', payload });
    res = await srv.request('DELETE', `/api/v2/keys/${other.id}`, { headers: { Prefer: 'return=representation' } });
    expectStatus(res, 200);
    assert.equal(res.json.resources[0].payload, undefined, desc(res));

    await srv.advanceClock(31);
    expectStatus(await srv.request('POST', `/api/v2/keys/${key.id}/restore`), 201, 'restore');
    res = await getKey(key.id);
    expectStatus(res, 200);
    assert.equal(res.json.resources[0].payload, payload);
  });

  test('a deleted root key: metadata without material, and every data-plane action is 409', async () => {
    const key = await createRootKey(srv, { name: 'deleted-root', payload: randB64(32) });
    const w = await wrap(srv, key.id, {});
    expectStatus(await srv.request('DELETE', `/api/v2/keys/${key.id}`), 204, 'delete');
    const res = await getKey(key.id);
    expectStatus(res, 200);
    assert.equal(res.json.resources[0].state, 5);
    assert.equal(res.json.resources[0].payload, undefined);
    for (const [a, body] of [['wrap', {}], ['unwrap', { ciphertext: w.ciphertext }],
      ['rewrap', { ciphertext: w.ciphertext }], ['rotate', { payload: randB64(32) }]]) {
      expectError(await action(srv, key.id, a, body), 409, 'KEY_ACTION_INVALID_STATE_ERR', { what: a });
    }
  });

  test('an expired (Deactivated) standard key still serves its payload', async () => {
    const payload = randB64(32);
    const expires = new Date(Date.now() + 2 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    const key = await createStandardKey(srv, { name: 'expiring-std', payload, expirationDate: expires });
    await srv.advanceClock(3 * 3600);
    const res = await getKey(key.id);
    expectStatus(res, 200);
    assert.equal(res.json.resources[0].state, 3, desc(res));
    assert.equal(res.json.resources[0].payload, payload);
  });
});
