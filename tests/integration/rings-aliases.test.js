'use strict';
// Key rings (keyprotect-api.md §9, PATCH §3.5) and key aliases (§10) over
// HTTP: status codes, bodies, X-Kms-Key-Ring and alias resolution.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { useServer } = require('../lib/server');
const { auditRecords } = require('../lib/identity');
const {
  RFC3339_RE, expectStatus, expectError, createRootKey, metadataOf, wrap, unwrap,
} = require('../lib/kp');

const srv = useServer({ args: ['--test-clock'] });
const ALIAS_TYPE = 'application/vnd.ibm.kms.alias+json';

function createRing(id, opts = {}) {
  return srv.request('POST', `/api/v2/key_rings/${id}`, opts);
}
function listRings(qs = '', opts = {}) {
  return srv.request('GET', `/api/v2/key_rings${qs}`, opts);
}
function deleteRing(id, qs = '', opts = {}) {
  return srv.request('DELETE', `/api/v2/key_rings/${id}${qs}`, opts);
}
function patchKey(id, body, opts = {}) {
  return srv.request('PATCH', `/api/v2/keys/${id}`, { body, ...opts });
}
function createAlias(id, alias, opts = {}) {
  return srv.request('POST', `/api/v2/keys/${id}/aliases/${alias}`, opts);
}
function deleteAlias(id, alias, opts = {}) {
  return srv.request('DELETE', `/api/v2/keys/${id}/aliases/${alias}`, opts);
}

describe('key rings', () => {
  test('create: 201 with an empty body; list has default first; delete: 204', async () => {
    const instance = await srv.createInstance('rings');
    const created = await createRing('team-a', { instance });
    expectStatus(created, 201, 'create ring');
    assert.equal(created.text, '', 'no body on 201 (the Go client fails otherwise)');
    expectStatus(await createRing('Team_B-2', { instance }), 201, 'second ring');

    const list = await listRings('?totalCount=true', { instance });
    expectStatus(list, 200, 'list rings');
    assert.equal(list.json.metadata.collectionTotal, 3);
    assert.equal(list.json.metadata.totalCount, 3);
    assert.deepEqual(list.json.resources[0], { id: 'default' });
    assert.deepEqual(list.json.resources.slice(1).map((r) => r.id), ['Team_B-2', 'team-a']);
    for (const r of list.json.resources.slice(1)) {
      assert.match(r.creationDate, RFC3339_RE);
      assert.equal(typeof r.createdBy, 'string');
    }
    const page = await listRings('?limit=1&offset=1', { instance });
    assert.deepEqual(page.json.resources.map((r) => r.id), ['Team_B-2']);

    expectError(await createRing('team-a', { instance }), 409, 'CONFLICT_ERR');
    expectError(await createRing('default', { instance }), 409, 'CONFLICT_ERR');
    expectError(await createRing('x', { instance }), 400, 'BAD_REQUEST_ERR');
    expectError(await createRing('a.b', { instance }), 400, 'BAD_REQUEST_ERR');
    expectError(await deleteRing('default', '', { instance }), 409, 'CONFLICT_ERR');
    expectError(await deleteRing('nope', '', { instance }), 404, 'NOT_FOUND_ERR');

    const del = await deleteRing('team-a', '', { instance });
    expectStatus(del, 204, 'delete ring');
    assert.equal(del.text, '');
    const after = await listRings('', { instance });
    assert.deepEqual(after.json.resources.map((r) => r.id), ['default', 'Team_B-2']);
  });

  test('at most 50 rings per instance, default included', async () => {
    const instance = await srv.createInstance('many-rings');
    for (let i = 0; i < 49; i++) {
      expectStatus(await createRing(`ring${i}`, { instance }), 201, `ring ${i}`);
    }
    expectError(await createRing('ring-50', { instance }), 409, 'CONFLICT_ERR');
  });

  test('X-Kms-Key-Ring selects the ring on create, filters lists, hints lookups', async () => {
    const instance = await srv.createInstance('ring-keys');
    const unknown = await srv.request('POST', '/api/v2/keys', {
      instance,
      headers: { 'X-Kms-Key-Ring': 'missing' },
      body: { metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 },
        resources: [{ type: 'application/vnd.ibm.kms.key+json', name: 'no-ring', extractable: false }] },
    });
    expectError(unknown, 404, 'NOT_FOUND_ERR');
    expectStatus(await createRing('payments', { instance }), 201);
    const inRing = await createRootKey(srv, { name: 'in-ring' },
      { instance, headers: { 'X-Kms-Key-Ring': 'payments' } });
    assert.equal(inRing.keyRingID, 'payments');
    const inDefault = await createRootKey(srv, { name: 'in-default' }, { instance });
    assert.equal(inDefault.keyRingID, 'default');

    const listed = await srv.request('GET', '/api/v2/keys', {
      instance, headers: { 'X-Kms-Key-Ring': 'payments' },
    });
    assert.deepEqual(listed.json.resources.map((k) => k.id), [inRing.id]);
    const counted = await srv.request('HEAD', '/api/v2/keys', {
      instance, headers: { 'X-Kms-Key-Ring': 'payments' },
    });
    assert.equal(counted.headers.get('key-total'), '1');

    // A key looked up with another ring's header is not found there.
    const md = await srv.request('GET', `/api/v2/keys/${inRing.id}/metadata`, {
      instance, headers: { 'X-Kms-Key-Ring': 'default' },
    });
    expectError(md, 404, 'NOT_FOUND_ERR');
    assert.equal((await metadataOf(srv, inRing.id, {
      instance, headers: { 'X-Kms-Key-Ring': 'payments' },
    })).id, inRing.id);

    // A ring holding a live key cannot be deleted, even with force.
    expectError(await deleteRing('payments', '', { instance }), 409, 'CONFLICT_ERR');
    expectError(await deleteRing('payments', '?force=true', { instance }), 409, 'CONFLICT_ERR');
  });

  test('PATCH moves a key (any case of keyRingID), header must name the current ring', async () => {
    const instance = await srv.createInstance('patch');
    expectStatus(await createRing('ring-a', { instance }), 201);
    const key = await createRootKey(srv, { name: 'mover' }, { instance });

    const moved = await patchKey(key.id, { keyRingID: 'ring-a' }, { instance });
    expectStatus(moved, 200, 'patch');
    assert.equal(moved.json.resources[0].keyRingID, 'ring-a');
    assert.equal(moved.json.resources[0].id, key.id);

    const stale = await patchKey(key.id, { KeyRingID: 'default' },
      { instance, headers: { 'X-Kms-Key-Ring': 'default' } });
    expectError(stale, 404, 'NOT_FOUND_ERR');
    const back = await patchKey(key.id, { KeyRingID: 'default' },
      { instance, headers: { 'X-Kms-Key-Ring': 'ring-a' } });
    expectStatus(back, 200, 'patch back (Go client casing)');
    assert.equal(back.json.resources[0].keyRingID, 'default');

    expectError(await patchKey(key.id, { keyRingID: 'missing' }, { instance }), 404, 'NOT_FOUND_ERR');
    expectError(await patchKey(key.id, {}, { instance }), 400, 'BAD_BODY_ERR');
    expectError(await patchKey(key.id, undefined, { instance }), 400, 'NO_BODY_ERR');
  });

  test('force delete moves destroyed keys to default', async () => {
    const instance = await srv.createInstance('force');
    expectStatus(await createRing('doomed', { instance }), 201);
    const key = await createRootKey(srv, { name: 'gone' },
      { instance, headers: { 'X-Kms-Key-Ring': 'doomed' } });
    expectStatus(await srv.request('DELETE', `/api/v2/keys/${key.id}`, { instance }), 204);
    expectError(await deleteRing('doomed', '', { instance }), 409, 'CONFLICT_ERR');
    expectStatus(await deleteRing('doomed', '?force=true', { instance }), 204, 'force delete');
    const md = await metadataOf(srv, key.id, { instance });
    assert.equal(md.keyRingID, 'default');
    assert.equal(md.state, 5);
  });
});

describe('key aliases', () => {
  test('create: 201 alias resource; the alias names the key anywhere; delete: 204', async () => {
    const key = await createRootKey(srv, { name: 'aliased' });
    const res = await createAlias(key.id, 'orders-kek');
    expectStatus(res, 201, 'create alias');
    assert.equal(res.json.metadata.collectionType, ALIAS_TYPE);
    assert.equal(res.json.metadata.collectionTotal, 1);
    const a = res.json.resources[0];
    assert.equal(a.keyId, key.id);
    assert.equal(a.alias, 'orders-kek');
    assert.equal(typeof a.createdBy, 'string');
    assert.match(a.creationDate, RFC3339_RE);

    const md = await metadataOf(srv, 'orders-kek');
    assert.equal(md.id, key.id);
    assert.deepEqual(md.aliases, ['orders-kek']);
    const w = await wrap(srv, 'orders-kek', {});
    const u = await unwrap(srv, key.id, { ciphertext: w.ciphertext });
    assert.equal(u.plaintext, w.plaintext);
    // Case-sensitive.
    expectError(await srv.request('GET', '/api/v2/keys/ORDERS-KEK/metadata'), 404, 'NOT_FOUND_ERR');
    // An alias works in the alias path too.
    expectStatus(await createAlias('orders-kek', 'orders-kek-2'), 201, 'alias via alias');

    const del = await deleteAlias(key.id, 'orders-kek');
    expectStatus(del, 204, 'delete alias');
    assert.equal(del.text, '');
    expectError(await srv.request('GET', '/api/v2/keys/orders-kek/metadata'), 404, 'NOT_FOUND_ERR');
    expectError(await deleteAlias(key.id, 'orders-kek'), 404, 'NOT_FOUND_ERR');
    assert.deepEqual((await metadataOf(srv, key.id)).aliases, ['orders-kek-2']);
  });

  test('rules: length, characters, UUIDs, reserved words, uniqueness, 5 per key', async () => {
    const key = await createRootKey(srv, { name: 'rules' });
    const other = await createRootKey(srv, { name: 'other' });
    for (const bad of ['a', 'x'.repeat(91), 'has.dot', 'keys', 'Wrap', 'version',
      '11111111-1111-4111-8111-111111111111']) {
      expectError(await createAlias(key.id, bad), 400, 'BAD_REQUEST_ERR');
    }
    expectStatus(await createAlias(key.id, 'unique-one'), 201);
    expectError(await createAlias(other.id, 'unique-one'), 409, 'CONFLICT_ERR');
    expectStatus(await createAlias(other.id, 'Unique-One'), 201, 'case-sensitive');
    for (const n of [2, 3, 4, 5]) expectStatus(await createAlias(key.id, `al-${n}`), 201);
    expectError(await createAlias(key.id, 'al-6'), 409, 'CONFLICT_ERR');
    // Unique per instance only.
    const instance = await srv.createInstance('alias-other');
    const elsewhere = await createRootKey(srv, { name: 'elsewhere' }, { instance });
    expectStatus(await createAlias(elsewhere.id, 'unique-one', { instance }), 201);
  });

  test('aliases on create; shown on the key', async () => {
    const key = await createRootKey(srv, { name: 'born-aliased', aliases: ['zz-born', 'aa-born'] });
    assert.deepEqual(key.aliases, ['aa-born', 'zz-born']);
    assert.equal((await metadataOf(srv, 'zz-born')).id, key.id);
    const dup = await srv.request('POST', '/api/v2/keys', {
      body: { metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 },
        resources: [{ type: 'application/vnd.ibm.kms.key+json', name: 'dup', aliases: ['aa-born'] }] },
    });
    expectError(dup, 409, 'CONFLICT_ERR');
    const bad = await srv.request('POST', '/api/v2/keys', {
      body: { metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 },
        resources: [{ type: 'application/vnd.ibm.kms.key+json', name: 'bad', aliases: ['rotate'] }] },
    });
    expectError(bad, 400, 'INVALID_FIELD_ERR', { target: 'aliases' });
  });
});

describe('audit', () => {
  test('key creation, rings, aliases and moves are audited; refused ones are not', async () => {
    const instance = await srv.createInstance('audited-metadata');
    const since = (await auditRecords(srv)).at(-1).seq;
    expectStatus(await createRing('audit-ring', { instance }), 201);
    expectError(await createRing('audit-ring', { instance }), 409, 'CONFLICT_ERR');
    const key = await createRootKey(srv, { name: 'audited' }, { instance, headers: { 'X-Kms-Key-Ring': 'audit-ring' } });
    expectStatus(await createAlias(key.id, 'audit-alias', { instance }), 201);
    expectError(await createAlias(key.id, 'audit-alias', { instance }), 409, 'CONFLICT_ERR');
    expectStatus(await patchKey(key.id, { keyRingID: 'default' }, { instance }), 200);
    expectStatus(await deleteAlias(key.id, 'audit-alias', { instance }), 204);
    expectError(await deleteAlias(key.id, 'audit-alias', { instance }), 404, 'NOT_FOUND_ERR');
    expectStatus(await deleteRing('audit-ring', '', { instance }), 204);

    const mine = (await auditRecords(srv, since)).filter((r) => r.target.startsWith(`instance:${instance}/`));
    const keyTarget = `instance:${instance}/key:${key.id}`;
    const ringTarget = `instance:${instance}/keyring:audit-ring`;
    assert.deepEqual(mine.map((r) => [r.action, r.target, r.outcome]), [
      ['kms.keyrings.create', ringTarget, 'success'],
      ['kms.secrets.create', keyTarget, 'success'],
      ['kms.secrets.createalias', keyTarget, 'success'],
      ['kms.secrets.patch', keyTarget, 'success'],
      ['kms.secrets.deletealias', keyTarget, 'success'],
      ['kms.keyrings.delete', ringTarget, 'success'],
    ], JSON.stringify(mine, null, 1));
    assert.equal(mine[1].details, 'root key, generated, key ring audit-ring');
    assert.equal(mine[2].details, 'alias audit-alias');
    assert.equal(mine[3].details, 'key ring audit-ring -> default');
  });
});
