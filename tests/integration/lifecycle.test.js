'use strict';
// Rotation and versions, disable/enable, delete/restore, expiry: the state
// machine and the 30 s / 1 h / 30 d timers of keyprotect-api.md §3.6–§3.9,
// §4.6, §4.7, §5, driven by the server's test clock (never by sleeping).

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { useServer } = require('../lib/server');
const {
  RFC3339_RE, desc, expectStatus, expectError, createRootKey, createStandardKey, metadataOf, action,
  wrap, unwrap, randB64,
} = require('../lib/kp');

const srv = useServer({ args: ['--test-clock'] });
const HOUR = 3600;
const DAY = 86400;

async function versions(id, qs = '') {
  const res = await srv.request('GET', `/api/v2/keys/${id}/versions${qs}`);
  expectStatus(res, 200, 'versions');
  return res;
}

describe('rotate and versions', () => {
  test('rotate: 204, new primary version, versions newest first, 1 h rule', async () => {
    const key = await createRootKey(srv, { name: 'rotating' });
    let v = await versions(key.id);
    assert.equal(v.json.metadata.collectionType, 'application/vnd.ibm.kms.key.version+json');
    assert.deepEqual(v.json.resources.map((x) => x.id), [key.id]);

    const r1 = await action(srv, key.id, 'rotate', undefined);
    expectStatus(r1, 204, 'first rotate');
    assert.equal(r1.text, '');
    v = await versions(key.id);
    assert.equal(v.json.resources.length, 2);
    assert.equal(v.json.metadata.collectionTotal, 2);
    const [newest, oldest] = v.json.resources;
    assert.equal(oldest.id, key.id);
    assert.notEqual(newest.id, key.id);
    for (const x of v.json.resources) assert.match(x.creationDate, RFC3339_RE);
    assert.ok(Date.parse(newest.creationDate) >= Date.parse(oldest.creationDate));

    const md = await metadataOf(srv, key.id);
    assert.equal(md.keyVersion.id, newest.id);
    assert.match(md.lastRotateDate, RFC3339_RE);
    assert.equal(md.id, key.id, 'the key id does not change');

    // A second rotation within the hour is refused.
    expectError(await action(srv, key.id, 'rotate', {}), 409, 'KEY_ROTATION_NOT_PERMITTED');
    await srv.advanceClock(HOUR - 60);
    expectError(await action(srv, key.id, 'rotate', {}), 409, 'KEY_ROTATION_NOT_PERMITTED');
    await srv.advanceClock(61 + 60);
    expectStatus(await action(srv, key.id, 'rotate', {}), 204, 'rotate after an hour');
    v = await versions(key.id);
    assert.equal(v.json.resources.length, 3);
    assert.equal(v.json.resources[2].id, key.id);

    // limit/offset and totalCount on versions
    const page = await versions(key.id, '?limit=1&offset=1&totalCount=true');
    assert.equal(page.json.resources.length, 1);
    assert.equal(page.json.resources[0].id, v.json.resources[1].id);
    assert.equal(page.json.metadata.totalCount, 3);
  });

  test('rotate accepts no body, {}, null and Go/Node content types', async () => {
    for (const [body, ct] of [[undefined, null], ['{}', null], ['null', null],
      ['{}', 'application/vnd.ibm.kms.key_action_rotate+json'], [undefined, 'application/json']]) {
      const key = await createRootKey(srv, { name: 'rotate-bodies' });
      expectStatus(await action(srv, key.id, 'rotate', body, { headers: { 'Content-Type': ct } }), 204,
                   `rotate body ${body} ct ${ct}`);
    }
  });

  test('imported root key: rotate without payload → 400 KEY_PAYLOAD_REQ_ERR; with new material → 204', async () => {
    const material = randB64(32);
    const key = await createRootKey(srv, { name: 'imported-rotate', payload: material });
    const dek = randB64(32);
    const old = await wrap(srv, key.id, { plaintext: dek });
    expectError(await action(srv, key.id, 'rotate', {}), 400, 'KEY_PAYLOAD_REQ_ERR', { target: 'payload' });
    expectError(await action(srv, key.id, 'rotate', undefined), 400, 'KEY_PAYLOAD_REQ_ERR');
    expectError(await action(srv, key.id, 'rotate', { payload: randB64(20) }), 400, ['BAD_BODY_ERR', 'INVALID_FIELD_ERR']);
    expectStatus(await action(srv, key.id, 'rotate', { payload: randB64(32) }), 204, 'rotate imported with payload');
    const u = await unwrap(srv, key.id, { ciphertext: old.ciphertext });
    assert.equal(u.plaintext, dek);
    assert.ok(u.rewrappedKeyVersion && u.rewrappedKeyVersion.id !== key.id, JSON.stringify(u));
  });

  test('standard key: rotate → 400 KEY_ROOT_REQ_ERR', async () => {
    const key = await createStandardKey(srv, { name: 'std-rotate' });
    expectError(await action(srv, key.id, 'rotate', {}), 400, 'KEY_ROOT_REQ_ERR');
  });

  test('versions of a suspended key need allKeyStates=true (409 otherwise)', async () => {
    const key = await createRootKey(srv, { name: 'versions-suspended' });
    expectStatus(await action(srv, key.id, 'disable', undefined), 204);
    const res = await srv.request('GET', `/api/v2/keys/${key.id}/versions`);
    expectError(res, 409, null);
    const ok = await srv.request('GET', `/api/v2/keys/${key.id}/versions?allKeyStates=true`);
    expectStatus(ok, 200);
    assert.equal(ok.json.resources.length, 1);
  });
});

describe('disable and enable', () => {
  test('disable → Suspended; wrap/unwrap refused; enable too early → REQ_TOO_EARLY_ERR; after 30 s Active', async () => {
    const key = await createRootKey(srv, { name: 'suspend-me' });
    const w = await wrap(srv, key.id, {});
    const d = await action(srv, key.id, 'disable', undefined);
    expectStatus(d, 204, 'disable');
    assert.equal(d.text, '');
    assert.equal((await metadataOf(srv, key.id)).state, 2);

    expectError(await action(srv, key.id, 'wrap', {}), 409, 'KEY_ACTION_INVALID_STATE_ERR');
    expectError(await action(srv, key.id, 'unwrap', { ciphertext: w.ciphertext }), 409, 'KEY_ACTION_INVALID_STATE_ERR');
    expectError(await action(srv, key.id, 'rewrap', { ciphertext: w.ciphertext }), 409, 'KEY_ACTION_INVALID_STATE_ERR');
    expectError(await action(srv, key.id, 'rotate', {}), 409, 'KEY_ACTION_INVALID_STATE_ERR');
    expectError(await action(srv, key.id, 'disable', undefined), 409, 'KEY_ACTION_INVALID_STATE_ERR');

    expectError(await action(srv, key.id, 'enable', undefined), 409, 'REQ_TOO_EARLY_ERR');
    await srv.advanceClock(31);
    const e = await action(srv, key.id, 'enable', undefined);
    expectStatus(e, 204, 'enable');
    assert.equal((await metadataOf(srv, key.id)).state, 1);
    assert.equal((await unwrap(srv, key.id, { ciphertext: w.ciphertext })).plaintext, w.plaintext);

    // Enabling an active key is a state error.
    await srv.advanceClock(31);
    expectError(await action(srv, key.id, 'enable', undefined), 409, 'KEY_ACTION_INVALID_STATE_ERR');
  });

  test('enable/disable accept null (Go client), {} and empty bodies with application/json', async () => {
    const key = await createRootKey(srv, { name: 'go-bodies' });
    expectStatus(await action(srv, key.id, 'disable', 'null'), 204, 'disable null');
    await srv.advanceClock(31);
    expectStatus(await action(srv, key.id, 'enable', 'null'), 204, 'enable null');
    expectStatus(await action(srv, key.id, 'disable', '{}', { headers: { 'Content-Type': 'application/json' } }), 204);
    await srv.advanceClock(31);
    expectStatus(await action(srv, key.id, 'enable', undefined, { headers: { 'Content-Type': 'application/json' } }), 204);
  });
});

describe('delete and restore', () => {
  test('delete with Prefer: return=representation → 200, state 5; again → 410 KEY_DELETED_ERR', async () => {
    const key = await createRootKey(srv, { name: 'delete-me' });
    const res = await srv.request('DELETE', `/api/v2/keys/${key.id}`, { headers: { Prefer: 'return=representation' } });
    expectStatus(res, 200, 'delete');
    const k = res.json.resources[0];
    assert.equal(k.id, key.id);
    assert.equal(k.state, 5);
    assert.equal(k.deleted, true);
    assert.match(k.deletionDate, RFC3339_RE);
    expectError(await srv.request('DELETE', `/api/v2/keys/${key.id}`), 410, 'KEY_DELETED_ERR');
    // Metadata of a deleted key is still readable.
    const md = await metadataOf(srv, key.id);
    assert.equal(md.state, 5);
    assert.equal(md.deleted, true);
  });

  test('delete without Prefer → 204 with no body', async () => {
    const key = await createStandardKey(srv, { name: 'delete-minimal' });
    const res = await srv.request('DELETE', `/api/v2/keys/${key.id}`);
    expectStatus(res, 204);
    assert.equal(res.text, '');
  });

  test('a deleted root key refuses wrap and unwrap', async () => {
    const key = await createRootKey(srv, { name: 'deleted-actions' });
    const w = await wrap(srv, key.id, {});
    expectStatus(await srv.request('DELETE', `/api/v2/keys/${key.id}`), 204);
    const rw = await action(srv, key.id, 'wrap', {});
    assert.ok(rw.status >= 400 && rw.status < 500, desc(rw));
    expectError(rw, rw.status, null);
    const ru = await action(srv, key.id, 'unwrap', { ciphertext: w.ciphertext });
    assert.ok(ru.status >= 400 && ru.status < 500, desc(ru));
    expectError(ru, ru.status, null);
  });

  test('restore: too early → 409 REQ_TOO_EARLY_ERR; after 31 s → 201 Active, old WDEKs unwrap again', async () => {
    const key = await createRootKey(srv, { name: 'restore-me' });
    const w = await wrap(srv, key.id, {});
    expectStatus(await srv.request('DELETE', `/api/v2/keys/${key.id}`), 204);
    expectError(await srv.request('POST', `/api/v2/keys/${key.id}/restore`), 409, 'REQ_TOO_EARLY_ERR');
    await srv.advanceClock(31);
    const res = await srv.request('POST', `/api/v2/keys/${key.id}/restore`);
    expectStatus(res, 201, 'restore');
    const k = res.json.resources[0];
    assert.equal(k.id, key.id);
    assert.equal(k.state, 1);
    assert.equal((await metadataOf(srv, key.id)).state, 1);
    assert.equal((await unwrap(srv, key.id, { ciphertext: w.ciphertext })).plaintext, w.plaintext);
    await wrap(srv, key.id, {});
  });

  test('restore of a standard key keeps its payload', async () => {
    const payload = randB64(40);
    const key = await createStandardKey(srv, { name: 'restore-std', payload });
    expectStatus(await srv.request('DELETE', `/api/v2/keys/${key.id}`), 204);
    await srv.advanceClock(31);
    expectStatus(await srv.request('POST', `/api/v2/keys/${key.id}/restore`, { body: {} }), 201);
    const res = await srv.request('GET', `/api/v2/keys/${key.id}`);
    expectStatus(res, 200);
    assert.equal(res.json.resources[0].payload, payload);
  });

  test('restore accepts an empty body, {}, null and the SDK content types', async () => {
    for (const [body, ct] of [[undefined, null], ['null', null], ['{}', 'application/json'],
      ['{}', 'application/vnd.ibm.kms.key_action_restore+json'], [undefined, 'application/json']]) {
      const key = await createRootKey(srv, { name: 'restore-bodies' });
      expectStatus(await srv.request('DELETE', `/api/v2/keys/${key.id}`), 204);
      await srv.advanceClock(31);
      const res = await srv.request('POST', `/api/v2/keys/${key.id}/restore`, { body, headers: { 'Content-Type': ct } });
      expectStatus(res, 201, `restore body ${body} content-type ${ct}`);
    }
  });

  test('restore of a key that is not deleted: 4xx', async () => {
    const key = await createRootKey(srv, { name: 'restore-active' });
    await srv.advanceClock(31);
    const res = await srv.request('POST', `/api/v2/keys/${key.id}/restore`);
    assert.ok(res.status === 409 || res.status === 400, desc(res));
    expectError(res, res.status, null);
  });

  test('restore more than 30 days after delete → 400 KEY_RESTORE_EXPIRED', async () => {
    const key = await createRootKey(srv, { name: 'restore-late' });
    expectStatus(await srv.request('DELETE', `/api/v2/keys/${key.id}`), 204);
    await srv.advanceClock(30 * DAY + 60);
    expectError(await srv.request('POST', `/api/v2/keys/${key.id}/restore`), 400, 'KEY_RESTORE_EXPIRED');
    assert.equal((await metadataOf(srv, key.id)).state, 5);
  });
});

describe('expiry', () => {
  test('after expirationDate the key is Deactivated (3): wrap refused, unwrap allowed', async () => {
    const probe = await createRootKey(srv, { name: 'clock-probe' });
    const now = Date.parse(probe.creationDate);
    const exp = new Date(now + 2 * HOUR * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const key = await createRootKey(srv, { name: 'expiring', expirationDate: exp });
    assert.equal(Date.parse(key.expirationDate), Date.parse(exp));
    const w = await wrap(srv, key.id, {});
    await srv.advanceClock(HOUR);
    assert.equal((await metadataOf(srv, key.id)).state, 1, 'not expired yet');
    await srv.advanceClock(2 * HOUR + 60);  // past expirationDate, beyond the 1 h granularity
    const md = await metadataOf(srv, key.id);
    assert.equal(md.state, 3, `state after expiry: ${JSON.stringify(md)}`);
    expectError(await action(srv, key.id, 'wrap', {}), 409, 'KEY_ACTION_INVALID_STATE_ERR');
    assert.equal((await unwrap(srv, key.id, { ciphertext: w.ciphertext })).plaintext, w.plaintext);
    const rw = await action(srv, key.id, 'rewrap', { ciphertext: w.ciphertext });
    expectStatus(rw, 200, 'rewrap of a deactivated key');
    // Enabling an expired key is a state error.
    expectError(await action(srv, key.id, 'enable', undefined), 409, 'KEY_ACTION_INVALID_STATE_ERR');
    // It is listed under state 3.
    const list = await srv.request('GET', '/api/v2/keys?state=3');
    expectStatus(list, 200);
    assert.ok(list.json.resources.some((k) => k.id === key.id));
  });
});
