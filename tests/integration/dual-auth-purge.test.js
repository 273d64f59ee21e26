'use strict';
// Dual-authorization deletion, restore windows and purge with
// crypto-shredding: docs/api.md "Dual-authorization deletion, restore and
// purge", keyprotect-api.md §3.6–§3.8, §5, §14. Time moves only through the
// server's test clock (ids.advance renews every principal's token after it).

const { describe, test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { useServer } = require('../lib/server');
const {
  RFC3339_RE, POLICY_TYPE, desc, expectStatus, expectError, createRootKey, createStandardKey, metadataOf,
  action, wrap, unwrap, policyEnvelope, randB64,
} = require('../lib/kp');
const { identities, auditRecords } = require('../lib/identity');

const HOUR = 3600;
const DAY = 86400;

const srv = useServer({ args: ['--test-clock'] });
let ids; let mgrA; let mgrB; let writer; let reader; let purger;
// Made once, by the first test (a root-level before() can run ahead of the
// harness's start hook).
let made;
function setup() {
  made = made || (async () => {
    ids = identities(srv);
    mgrA = await ids.user('manager-a', ['Manager']);
    mgrB = await ids.user('manager-b', ['Manager']);
    writer = await ids.user('writer', ['Writer']);
    reader = await ids.user('reader', ['Reader']);
    purger = await ids.user('purger', ['KeyPurge']);
  })();
  return made;
}
beforeEach(() => setup());

async function dualAuthKey(fields = {}) {
  const key = await createRootKey(srv, { name: 'dual-auth', ...fields });
  const res = await srv.request('PUT', `/api/v2/keys/${key.id}/policies?policy=dualAuthDelete`, {
    body: policyEnvelope({ type: POLICY_TYPE, dualAuthDelete: { enabled: true } }),
  });
  expectStatus(res, 200, 'enable dualAuthDelete');
  return key;
}
const seconds = (a, b) => (Date.parse(b) - Date.parse(a)) / 1000;
const adminDelete = (id) => srv.request('DELETE', `/api/v2/keys/${id}`);
const restore = (id, opts) => srv.request('POST', `/api/v2/keys/${id}/restore`, opts);
const purge = (who, id, opts = {}) => who.req('DELETE', `/keys/${id}/purge`, opts);

describe('dual-authorization deletion', () => {
  test('set/unset: 409 NOT_DUAL_AUTH_ERR without the policy; Writer or Manager; Reader 403; key fields', async () => {
    const plain = await createRootKey(srv, { name: 'no-dual' });
    expectError(await writer.act(plain.id, 'setKeyForDeletion'), 409, 'NOT_DUAL_AUTH_ERR');
    expectError(await writer.act(plain.id, 'unsetKeyForDeletion'), 409, 'NOT_DUAL_AUTH_ERR');

    const key = await dualAuthKey();
    assert.deepEqual((await metadataOf(srv, key.id)).dualAuthDelete, { enabled: true, keySetForDeletion: false });
    expectError(await reader.act(key.id, 'setKeyForDeletion'), 403, 'FORBIDDEN_ERR');
    const set = await writer.act(key.id, 'setKeyForDeletion');
    expectStatus(set, 204, 'Writer sets');
    assert.equal(set.text, '');
    let md = await metadataOf(srv, key.id);
    assert.equal(md.state, 1, 'the key stays Active');
    assert.equal(md.dualAuthDelete.enabled, true);
    assert.equal(md.dualAuthDelete.keySetForDeletion, true);
    assert.match(md.dualAuthDelete.authExpiration, RFC3339_RE);
    assert.equal(seconds(md.lastUpdateDate, md.dualAuthDelete.authExpiration), 7 * DAY);
    await wrap(srv, key.id, {});  // all operations still allowed

    expectError(await reader.act(key.id, 'unsetKeyForDeletion'), 403, 'FORBIDDEN_ERR');
    expectStatus(await mgrA.act(key.id, 'unsetKeyForDeletion'), 204, 'Manager unsets');
    md = await metadataOf(srv, key.id);
    assert.deepEqual(md.dualAuthDelete, { enabled: true, keySetForDeletion: false });
    expectError(await mgrB.del(key.id), 409, 'AUTHORIZATIONS_NOT_MET', { what: 'after the approval was withdrawn' });
  });

  test('the approver cannot delete (409 AUTHORIZATIONS_NOT_MET); another Manager can; the delete consumes it', async () => {
    const key = await dualAuthKey();
    expectError(await mgrB.del(key.id), 409, 'AUTHORIZATIONS_NOT_MET', { what: 'no approval' });
    expectStatus(await mgrA.act(key.id, 'setKeyForDeletion'), 204);
    expectError(await mgrA.del(key.id), 409, 'AUTHORIZATIONS_NOT_MET', { what: 'the approver deletes' });
    expectError(await writer.del(key.id), 403, 'FORBIDDEN_ERR');
    const del = await mgrB.del(key.id, '', { headers: { Prefer: 'return=representation' } });
    expectStatus(del, 200, 'another Manager deletes');
    assert.equal(del.json.resources[0].state, 5);
    assert.equal(del.json.resources[0].deletedBy, mgrB.id);

    await srv.advanceClock(31);
    expectStatus(await restore(key.id), 201, 'restore');
    const md = await metadataOf(srv, key.id);
    assert.equal(md.state, 1);
    assert.equal(md.dualAuthDelete.enabled, true, 'policies come back with the key');
    assert.equal(md.dualAuthDelete.keySetForDeletion, false, 'the approval was consumed');
    expectError(await mgrB.del(key.id), 409, 'AUTHORIZATIONS_NOT_MET', { what: 'the consumed approval' });
  });

  test('set/unset need an Active key: 409 KEY_ACTION_INVALID_STATE_ERR', async () => {
    const key = await dualAuthKey();
    expectStatus(await action(srv, key.id, 'disable'), 204);
    expectError(await writer.act(key.id, 'setKeyForDeletion'), 409, 'KEY_ACTION_INVALID_STATE_ERR');
    expectError(await writer.act(key.id, 'unsetKeyForDeletion'), 409, 'KEY_ACTION_INVALID_STATE_ERR');
  });

  test('an approval lapses after 7 days', async () => {
    const lapsing = await dualAuthKey({ name: 'lapsing' });
    const inTime = await dualAuthKey({ name: 'in-time' });
    expectStatus(await mgrA.act(lapsing.id, 'setKeyForDeletion'), 204);
    expectStatus(await mgrA.act(inTime.id, 'setKeyForDeletion'), 204);
    await ids.advance(7 * DAY - 60);
    expectStatus(await mgrB.del(inTime.id), 204, 'a minute before the approval lapses');
    await ids.advance(61);
    expectError(await mgrB.del(lapsing.id), 409, 'AUTHORIZATIONS_NOT_MET', { what: 'lapsed approval' });
    // A lapsed approval no longer stands: the key must not claim it does.
    assert.deepEqual((await metadataOf(srv, lapsing.id)).dualAuthDelete, { enabled: true, keySetForDeletion: false },
                     'dualAuthDelete of a key whose approval lapsed');
    expectStatus(await mgrA.act(lapsing.id, 'setKeyForDeletion'), 204, 'approve again');
    expectStatus(await mgrB.del(lapsing.id), 204);
  });

  test('legacy ?action=, the 2020 short names and the Go client\'s null body without Content-Type', async () => {
    const key = await dualAuthKey();
    const legacy = (who, name, body) => who.req('POST', `/keys/${key.id}?action=${name}`, {
      body, headers: { 'Content-Type': 'application/vnd.ibm.kms.key_action+json' },
    });
    expectStatus(await legacy(mgrA, 'setKeyForDeletion', '{}'), 204, 'legacy set');
    assert.equal((await metadataOf(srv, key.id)).dualAuthDelete.keySetForDeletion, true);
    expectStatus(await legacy(mgrA, 'unsetKeyForDeletion', undefined), 204, 'legacy unset');
    assert.equal((await metadataOf(srv, key.id)).dualAuthDelete.keySetForDeletion, false);

    expectStatus(await mgrA.act(key.id, 'setKeyDeletion'), 204, '2020 setKeyDeletion');
    assert.equal((await metadataOf(srv, key.id)).dualAuthDelete.keySetForDeletion, true);
    expectStatus(await mgrA.act(key.id, 'unsetKeyDeletion'), 204, '2020 unsetKeyDeletion');
    assert.equal((await metadataOf(srv, key.id)).dualAuthDelete.keySetForDeletion, false);

    // Go: body "null", no Content-Type, Accept application/json.
    const go = { raw: 'null', headers: { Accept: 'application/json' } };
    expectStatus(await mgrA.req('POST', `/keys/${key.id}/actions/setKeyForDeletion`, go), 204, 'Go set');
    assert.equal((await metadataOf(srv, key.id)).dualAuthDelete.keySetForDeletion, true);
    expectStatus(await mgrA.req('POST', `/keys/${key.id}/actions/unsetKeyForDeletion`, go), 204, 'Go unset');
    expectStatus(await mgrA.req('POST', `/keys/${key.id}/actions/setKeyForDeletion`,
                                { headers: { 'Content-Type': 'application/json' } }), 204, 'Node SDK empty body');
    expectStatus(await mgrB.del(key.id), 204);
  });
});

describe('restore windows', () => {
  test('30 s to 30 days after deletion; restoreAllowed / restoreExpirationDate / purge fields', async () => {
    const early = await createRootKey(srv, { name: 'restore-window' });
    const late = await createStandardKey(srv, { name: 'restore-expired' });
    expectStatus(await adminDelete(early.id), 204);
    expectStatus(await adminDelete(late.id), 204);
    let md = await metadataOf(srv, early.id);
    assert.equal(md.state, 5);
    assert.equal(md.deleted, true);
    assert.match(md.deletionDate, RFC3339_RE);
    assert.equal(md.restoreAllowed, false, 'not within 30 s');
    assert.equal(seconds(md.deletionDate, md.restoreExpirationDate), 30 * DAY);
    assert.equal(md.purgeAllowed, false);
    assert.equal(seconds(md.deletionDate, md.purgeAllowedFrom), 4 * HOUR);
    assert.equal(seconds(md.deletionDate, md.purgeScheduledOn), 90 * DAY);
    expectError(await restore(early.id), 409, 'REQ_TOO_EARLY_ERR');

    await ids.advance(31);
    md = await metadataOf(srv, early.id);
    assert.equal(md.restoreAllowed, true, JSON.stringify(md));
    expectError(await writer.req('POST', `/keys/${early.id}/restore`), 403, 'FORBIDDEN_ERR');
    const res = await restore(early.id, { headers: { 'Content-Type': 'application/vnd.ibm.kms.key_action_restore+json' } });
    expectStatus(res, 201, 'restore');
    assert.equal(res.json.resources[0].state, 1);
    assert.equal(res.json.resources[0].deleted, false);
    expectError(await restore(early.id), 409, 'KEY_ACTION_INVALID_STATE_ERR', { what: 'an Active key' });

    await ids.advance(30 * DAY);
    md = await metadataOf(srv, late.id);
    assert.equal(md.restoreAllowed, false, 'after 30 days');
    assert.equal(md.purgeAllowed, true, 'after 4 h');
    expectError(await restore(late.id), 400, 'KEY_RESTORE_EXPIRED');
  });
});

describe('purge', () => {
  test('KeyPurge only: Manager, administrator and services get 403; 409 before 4 h and on a key not Destroyed', async () => {
    const key = await createRootKey(srv, { name: 'purge-roles' });
    const svc = await ids.service('purge-svc', { role: 'KeyPurge' });
    expectError(await purge(purger, key.id), 409, 'KEY_ACTION_INVALID_STATE_ERR', { what: 'Active key' });
    expectStatus(await adminDelete(key.id), 204);
    expectError(await purge(purger, key.id), 409, 'REQ_TOO_EARLY_ERR');
    await ids.advance(4 * HOUR - 60);
    expectError(await purge(purger, key.id), 409, 'REQ_TOO_EARLY_ERR', { what: 'a minute early' });
    await ids.advance(61);
    expectError(await purge(mgrA, key.id), 403, 'FORBIDDEN_ERR');
    expectError(await srv.request('DELETE', `/api/v2/keys/${key.id}/purge`), 403, 'FORBIDDEN_ERR',
                { what: 'bootstrap administrator' });
    expectError(await purge(svc, key.id), 403, 'RESOURCE_OWNER_ERR', { what: 'service with a KeyPurge authorization' });
    expectError(await purger.req('GET', `/keys/${key.id}/metadata`), 403, 'FORBIDDEN_ERR', { what: 'KeyPurge reads nothing' });

    const res = await purge(purger, key.id);
    expectStatus(res, 200, 'purge');
    assert.equal(res.json.metadata.collectionType, 'application/vnd.ibm.kms.key+json');
    const k = res.json.resources[0];
    assert.equal(k.id, key.id);
    assert.equal(k.state, 5);
    assert.equal(k.deleted, true);
    expectError(await srv.request('GET', `/api/v2/keys/${key.id}/metadata`), 404, 'NOT_FOUND_ERR');
    expectError(await purge(purger, key.id), 404, 'NOT_FOUND_ERR', { what: 'purged twice' });

    const minimal = await createRootKey(srv, { name: 'purge-minimal' });
    expectStatus(await adminDelete(minimal.id), 204);
    await ids.advance(4 * HOUR);
    const m = await purge(purger, minimal.id, { headers: { Prefer: 'return=minimal' } });
    expectStatus(m, 204, 'purge with return=minimal');
    assert.equal(m.text, '');
  });

  test('after a purge: metadata, restore and unwrap of an older WDEK are 404 — also after a restart', async () => {
    const marker = `shred-marker-${randB64(9).replace(/[^A-Za-z0-9]/g, 'x')}`;
    const key = await createRootKey(srv, { name: 'shredded', description: marker });
    const dek = randB64(32);
    const w = await wrap(srv, key.id, { plaintext: dek });
    expectStatus(await action(srv, key.id, 'rotate', {}), 204);
    const w2 = await wrap(srv, key.id, {});
    const keep = await createRootKey(srv, { name: 'kept' });
    const kw = await wrap(srv, keep.id, { plaintext: dek });
    expectStatus(await adminDelete(key.id), 204);
    await ids.advance(4 * HOUR + 1);
    expectStatus(await purge(purger, key.id), 200);

    const checkGone = async (when) => {
      expectError(await srv.request('GET', `/api/v2/keys/${key.id}/metadata`), 404, 'NOT_FOUND_ERR', { what: when });
      expectError(await srv.request('GET', `/api/v2/keys/${key.id}`), 404, 'NOT_FOUND_ERR', { what: when });
      expectError(await restore(key.id), 404, 'NOT_FOUND_ERR', { what: `restore ${when}` });
      for (const c of [w.ciphertext, w2.ciphertext]) {
        expectError(await action(srv, key.id, 'unwrap', { ciphertext: c }), 404, 'NOT_FOUND_ERR', { what: `unwrap ${when}` });
      }
      expectError(await srv.request('GET', `/api/v2/keys/${key.id}/versions?allKeyStates=true`), 404, 'NOT_FOUND_ERR');
      const list = await srv.request('GET', '/api/v2/keys?state=0,1,2,3,5&limit=5000');
      assert.ok(!list.json.resources.some((k) => k.id === key.id), `listed ${when}`);
      // The other key is untouched.
      assert.equal((await unwrap(srv, keep.id, { ciphertext: kw.ciphertext })).plaintext, dek);
    };
    await checkGone('right after the purge');
    await srv.restart();
    await ids.refreshAll();
    await checkGone('after a restart');

    // secure_delete and the WAL truncation: the row's text is gone from the data directory.
    await srv.stop();
    const hits = [];
    const walk = (dir) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (fs.readFileSync(p).includes(Buffer.from(marker))) hits.push(p);
      }
    };
    walk(srv.dataDir);
    await srv.start();
    await ids.refreshAll();
    assert.deepEqual(hits, [], 'the purged key\'s description is still in the data directory');
  });

  test('keys deleted 90 days ago are purged automatically', async () => {
    const key = await createRootKey(srv, { name: 'auto-purge' });
    expectStatus(await adminDelete(key.id), 204);
    const md = await metadataOf(srv, key.id);
    await ids.advance(90 * DAY - 120);
    assert.equal((await metadataOf(srv, key.id)).state, 5, 'still there before purgeScheduledOn');
    await ids.advance(120);
    expectError(await srv.request('GET', `/api/v2/keys/${key.id}/metadata`), 404, 'NOT_FOUND_ERR',
                { what: `after purgeScheduledOn ${md.purgeScheduledOn}` });
  });

  test('audit records for setkeyfordeletion, delete, restore and purge', async () => {
    const key = await dualAuthKey({ name: 'audited' });
    expectStatus(await mgrA.act(key.id, 'setKeyForDeletion'), 204);
    expectStatus(await mgrB.del(key.id), 204);
    await ids.advance(31);
    expectStatus(await mgrA.req('POST', `/keys/${key.id}/restore`), 201);
    expectStatus(await mgrB.act(key.id, 'setKeyForDeletion'), 204);
    expectStatus(await mgrA.del(key.id), 204);
    await ids.advance(4 * HOUR);
    expectStatus(await purge(purger, key.id), 200);
    const records = await auditRecords(srv);
    const mine = records.filter((r) => r.target.endsWith(`key:${key.id}`));
    const find = (action, actor) => mine.find((r) => r.action === action && r.outcome === 'success' && r.actor === actor);
    assert.ok(find('kms.secrets.setkeyfordeletion', mgrA.id), JSON.stringify(mine, null, 1));
    assert.ok(find('kms.secrets.delete', mgrB.id), JSON.stringify(mine, null, 1));
    assert.ok(find('kms.secrets.restore', mgrA.id), JSON.stringify(mine, null, 1));
    assert.ok(find('kms.secrets.setkeyfordeletion', mgrB.id), JSON.stringify(mine, null, 1));
    assert.ok(find('kms.secrets.delete', mgrA.id), JSON.stringify(mine, null, 1));
    assert.ok(find('kms.secrets.purge', purger.id), JSON.stringify(mine, null, 1));
    assert.ok(mine.every((r) => r.target.includes(`instance:${srv.instance}`)), desc({ status: 0, text: JSON.stringify(mine) }));
  });
});
