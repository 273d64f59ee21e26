'use strict';
// Identity against the real server: tokens from POST /identity/token, roles
// (keyprotect-api.md §15.1), service-to-service authorizations (§15.2, the
// integrate-services seed scenario), cross-tenant isolation, token attacks,
// the token endpoint's limits, the whole admin API of docs/admin-api.md, and
// the bootstrap API key, restarts and tokens signed by another server.
//
// Every describe() runs its own server, so the failure throttles of one part
// (20 failures per source address and minute) and the clock moves of another
// never leak into the rest. Nothing sleeps: expiry is reached by moving the
// server's clock (--test-clock).

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useServer } = require('../lib/server');
const {
  UUID_RE, RFC3339_RE, desc, expectStatus, expectError, keyEnvelope, keyResource,
  createRootKey, createStandardKey, randB64,
} = require('../lib/kp');
const {
  GRANT, adminReq, adminOk, createUser, createServiceId, createApiKey, createPolicy,
  tokenRequest, tokenFor,
} = require('../lib/identity');

const KEY_TYPE = 'application/vnd.ibm.kms.key+json';

// ---------------------------------------------------------------- helpers

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const b64urlJson = (obj) => b64url(JSON.stringify(obj));

function decodeJwt(token) {
  const parts = token.split('.');
  assert.equal(parts.length, 3, `not a JWT: ${token}`);
  return {
    header: JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')),
    signature: Buffer.from(parts[2], 'base64url'),
    parts,
  };
}

// A user holding `roles` on `instanceId` (none if roles is null), with an
// API key and a fresh token.
async function userWith(srv, name, instanceId, roles, policyOpts) {
  const principal = await createUser(srv, name);
  if (roles) await createPolicy(srv, principal.id, instanceId, roles, policyOpts);
  const key = await createApiKey(srv, principal.id);
  const token = await tokenFor(srv, key.apikey);
  return { principal, apiKey: key, apikey: key.apikey, token };
}

// Key Protect calls as `who` (a token string) on `instance`.
function kp(srv, token, instance) {
  const req = (method, path, opts = {}) => srv.request(method, `/api/v2${path}`, {
    token, instance: instance === undefined ? srv.instance : instance, ...opts,
  });
  return {
    req,
    list: (q = '') => req('GET', `/keys${q}`),
    head: () => req('HEAD', '/keys'),
    create: (fields = {}) => req('POST', '/keys', {
      headers: { 'Content-Type': KEY_TYPE, Prefer: 'return=representation' },
      body: keyEnvelope(keyResource(fields)),
    }),
    get: (id) => req('GET', `/keys/${id}`),
    metadata: (id) => req('GET', `/keys/${id}/metadata`),
    versions: (id) => req('GET', `/keys/${id}/versions`),
    act: (id, name, body) => req('POST', `/keys/${id}/actions/${name}`, { body }),
    legacy: (id, name, body) => req('POST', `/keys/${id}?action=${name}`, { body }),
    del: (id) => req('DELETE', `/keys/${id}`, { headers: { Prefer: 'return=representation' } }),
    restore: (id) => req('POST', `/keys/${id}/restore`),
  };
}

function listedIds(res) {
  expectStatus(res, 200, 'list');
  return (res.json.resources || []).map((k) => k.id);
}

const expect403 = (res, what, code = null) => {
  assert.equal(res.status, 403, `${what}: expected 403, got ${desc(res)}`);
  return expectError(res, 403, code);
};

// ---------------------------------------------------------------- 1. seed scenario

describe('integrate services (seed scenario): service-to-service authorization', () => {
  const srv = useServer({ args: ['--test-clock'] });
  let instance;
  let alice;
  let root;

  before(async () => {
    instance = (await adminOk(srv, 'POST', '/admin/v1/instances', { name: 'integrations' }, 201)).id;
    assert.match(instance, UUID_RE);
    alice = await userWith(srv, 'alice', instance, ['Manager']);
    const res = await kp(srv, alice.token, instance).create({ name: 'cos-root', extractable: false });
    expectStatus(res, 201, 'create root key as Manager');
    root = res.json.resources[0];
  });

  async function runScenario(authBody, sid) {
    const svc = kp(srv, sid.token, instance);
    const aliceKp = kp(srv, alice.token, instance);

    // No authorization yet: the service is refused.
    let res = await svc.act(root.id, 'wrap', {});
    expectError(res, 403, 'FORBIDDEN_ERR');

    // alice (Manager on the instance) authorizes the source service.
    res = await adminReq(srv, 'POST', '/admin/v1/authorizations',
                         { ...authBody, instanceId: instance }, { token: alice.token });
    expectStatus(res, 201, 'authorization by a Manager');
    const authz = res.json;
    assert.equal(authz.role, 'Reader', `default role: ${desc(res)}`);
    assert.equal(authz.instanceId, instance);

    // wrap, unwrap and list now work for the service.
    res = await svc.act(root.id, 'wrap', {});
    expectStatus(res, 200, 'wrap by the authorized service');
    const w = res.json;
    assert.equal(Buffer.from(w.plaintext, 'base64').length, 32);
    res = await svc.act(root.id, 'unwrap', { ciphertext: w.ciphertext });
    expectStatus(res, 200, 'unwrap by the authorized service');
    assert.equal(res.json.plaintext, w.plaintext);
    const dek = randB64(32);
    res = await svc.act(root.id, 'wrap', { plaintext: dek, aad: ['bucket-1'] });
    expectStatus(res, 200, 'wrap with a supplied DEK');
    res = await svc.act(root.id, 'unwrap', { ciphertext: res.json.ciphertext, aad: ['bucket-1'] });
    expectStatus(res, 200, 'unwrap with aad');
    assert.equal(res.json.plaintext, dek);
    res = await svc.list('?extractable=false');
    assert.ok(listedIds(res).includes(root.id), `root key listed for the service: ${desc(res)}`);

    // A service never deletes keys, and Reader does not rotate.
    res = await svc.del(root.id);
    expectError(res, 403, 'RESOURCE_OWNER_ERR');
    res = await svc.act(root.id, 'rotate', {});
    expect403(res, 'rotate by the service');
    const meta = await aliceKp.metadata(root.id);
    expectStatus(meta, 200);
    assert.equal(meta.json.resources[0].state, 1, 'key still active after the refused delete');

    // alice sees the authorization in her instance and removes it.
    res = await adminReq(srv, 'GET', `/admin/v1/authorizations?instanceId=${instance}`, undefined,
                         { token: alice.token });
    expectStatus(res, 200, 'list authorizations as Manager');
    assert.ok(res.json.authorizations.some((a) => a.id === authz.id), desc(res));
    res = await adminReq(srv, 'DELETE', `/admin/v1/authorizations/${authz.id}`, undefined,
                         { token: alice.token });
    expectStatus(res, 204, 'delete authorization as Manager');

    // Effective for the very next request.
    res = await svc.act(root.id, 'wrap', {});
    expect403(res, 'wrap right after the authorization was deleted');
    res = await svc.act(root.id, 'unwrap', { ciphertext: w.ciphertext });
    expect403(res, 'unwrap after the authorization was deleted');
    return authz;
  }

  test('by service type: object-storage gets Reader on the instance, then loses it', async () => {
    const cos = await createServiceId(srv, 'cos-east', 'object-storage');
    assert.equal(cos.kind, 'service_id');
    assert.equal(cos.serviceType, 'object-storage');
    const key = await createApiKey(srv, cos.id, 'cos');
    const sid = { principal: cos, token: await tokenFor(srv, key.apikey) };
    const claims = decodeJwt(sid.token).payload;
    assert.equal(claims.kind, 'service_id');
    assert.equal(claims.service_type, 'object-storage');
    const authz = await runScenario({ sourceServiceType: 'object-storage' }, sid);
    assert.equal(authz.sourceServiceType, 'object-storage');
  });

  test('by service id: only that service id is authorized, not others of its type', async () => {
    const pg = await createServiceId(srv, 'pg-1', 'databases-for-postgresql');
    const other = await createServiceId(srv, 'pg-2', 'databases-for-postgresql');
    const sid = { principal: pg, token: await tokenFor(srv, (await createApiKey(srv, pg.id)).apikey) };
    const otherToken = await tokenFor(srv, (await createApiKey(srv, other.id)).apikey);

    const res = await adminReq(srv, 'POST', '/admin/v1/authorizations',
                               { sourceServiceId: pg.id, instanceId: instance },
                               { token: alice.token });
    expectStatus(res, 201);
    assert.equal(res.json.sourceServiceId, pg.id);
    // The sibling of the same type is still refused while pg-1 works.
    expect403(await kp(srv, otherToken, instance).act(root.id, 'wrap', {}), 'sibling service id');
    expectStatus(await kp(srv, sid.token, instance).act(root.id, 'wrap', {}), 200, 'pg-1 wrap');
    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/authorizations/${res.json.id}`,
                                undefined, { token: alice.token }), 204);

    await runScenario({ sourceServiceId: pg.id }, sid);
  });

  test('a service with a Manager authorization still cannot delete keys (RESOURCE_OWNER_ERR)', async () => {
    const svcP = await createServiceId(srv, 'mgr-svc', 'containers-kubernetes');
    const token = await tokenFor(srv, (await createApiKey(srv, svcP.id)).apikey);
    const res = await adminReq(srv, 'POST', '/admin/v1/authorizations',
                               { sourceServiceId: svcP.id, instanceId: instance, role: 'Manager' });
    expectStatus(res, 201);
    assert.equal(res.json.role, 'Manager');
    expectError(await kp(srv, token, instance).del(root.id), 403, 'RESOURCE_OWNER_ERR');
    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/authorizations/${res.json.id}`), 204);
  });

  // Issue 10 §1, as reproduced: an authorization plus a key-scoped policy
  // once let the service delete any key and grant itself KeyPurge.
  test('a Manager authorization plus a Manager policy on K1: K2 is not deleted, no self-grant', async () => {
    const svcP = await createServiceId(srv, 'mixed-svc', 'containers-mixed');
    const token = await tokenFor(srv, (await createApiKey(srv, svcP.id)).apikey);
    const k1 = await createRootKey(srv, { name: 'mixed-k1' }, { instance });
    const k2 = await createRootKey(srv, { name: 'mixed-k2' }, { instance });
    const authz = await adminOk(srv, 'POST', '/admin/v1/authorizations',
                                { sourceServiceId: svcP.id, instanceId: instance, role: 'Manager' }, 201);
    await createPolicy(srv, svcP.id, instance, ['Manager'], { keyId: k1.id });
    const svc = kp(srv, token, instance);

    expectError(await svc.del(k2.id), 403, 'RESOURCE_OWNER_ERR');
    expectStatus(await kp(srv, alice.token, instance).metadata(k2.id), 200);
    expectError(await adminReq(srv, 'POST', '/admin/v1/policies',
                               { principalId: svcP.id, instanceId: instance, roles: ['Manager', 'KeyPurge'] },
                               { token }),
                403, 'FORBIDDEN_ERR');
    // What the grants do allow still works: wrap K2 through the
    // authorization, delete K1 through the policy.
    expectStatus(await svc.act(k2.id, 'wrap', {}), 200, 'wrap K2');
    expectStatus(await svc.del(k1.id), 200, 'delete K1 (its policy)');
    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/authorizations/${authz.id}`), 204);
  });

  test('an authorization scoped to one key: that key by id, not listed, no other key', async () => {
    const other = await createRootKey(srv, { name: 'not-for-the-service' }, { instance });
    const svcP = await createServiceId(srv, 'cos-one-key', 'object-storage-one-key');
    const token = await tokenFor(srv, (await createApiKey(srv, svcP.id)).apikey);
    const a = await adminReq(srv, 'POST', '/admin/v1/authorizations',
                             { sourceServiceId: svcP.id, instanceId: instance, keyId: root.id },
                             { token: alice.token });
    expectStatus(a, 201);
    assert.equal(a.json.keyId, root.id);
    const svc = kp(srv, token, instance);
    const w = await svc.act(root.id, 'wrap', {});
    expectStatus(w, 200, 'wrap with the authorized key');
    expectStatus(await svc.act(root.id, 'unwrap', { ciphertext: w.json.ciphertext }), 200);
    expect403(await svc.act(other.id, 'wrap', {}), 'wrap with another key', 'FORBIDDEN_ERR');
    const list = await svc.list();
    expectStatus(list, 200);
    assert.deepEqual(listedIds(list), [], 'key-level access is not listed');
  });

  test('an authorization for another instance does not open this one', async () => {
    const other = await srv.createInstance('elsewhere');
    const svcP = await createServiceId(srv, 'cos-west', 'object-storage-west');
    const token = await tokenFor(srv, (await createApiKey(srv, svcP.id)).apikey);
    expectStatus(await adminReq(srv, 'POST', '/admin/v1/authorizations',
                                { sourceServiceId: svcP.id, instanceId: other }), 201);
    expect403(await kp(srv, token, instance).act(root.id, 'wrap', {}), 'wrap in the other instance');
    expect403(await kp(srv, token, instance).list(), 'list in the other instance');
  });
});

// ---------------------------------------------------------------- 2. roles

describe('roles (keyprotect-api.md §15.1)', () => {
  const srv = useServer({ args: ['--test-clock'] });
  let root;
  let standard;

  before(async () => {
    root = await createRootKey(srv, { name: 'roles-root' });
    standard = await createStandardKey(srv, { name: 'roles-std', payload: randB64(32) });
  });

  test('Reader: list, HEAD, metadata, versions, wrap, unwrap, rewrap; nothing else', async () => {
    const u = await userWith(srv, 'reader', srv.instance, ['Reader']);
    const r = kp(srv, u.token);
    assert.ok(listedIds(await r.list()).includes(root.id));
    const head = await r.head();
    expectStatus(head, 200, 'HEAD');
    assert.ok(Number(head.headers.get('key-total')) >= 2, `Key-Total ${head.headers.get('key-total')}`);
    expectStatus(await r.metadata(root.id), 200, 'metadata');
    expectStatus(await r.versions(root.id), 200, 'versions');
    const w = await r.act(root.id, 'wrap', {});
    expectStatus(w, 200, 'wrap');
    const uw = await r.act(root.id, 'unwrap', { ciphertext: w.json.ciphertext });
    expectStatus(uw, 200, 'unwrap');
    assert.equal(uw.json.plaintext, w.json.plaintext);
    expectStatus(await r.act(root.id, 'rewrap', { ciphertext: w.json.ciphertext }), 200, 'rewrap');

    expect403(await r.get(standard.id), 'GET /keys/{id} needs ReaderPlus', 'FORBIDDEN_ERR');
    expect403(await r.get(root.id), 'GET root key needs ReaderPlus', 'FORBIDDEN_ERR');
    expect403(await r.create({ name: 'nope' }), 'create', 'FORBIDDEN_ERR');
    expect403(await r.act(root.id, 'rotate', {}), 'rotate', 'FORBIDDEN_ERR');
    expect403(await r.act(root.id, 'disable'), 'disable', 'FORBIDDEN_ERR');
    expect403(await r.del(root.id), 'delete', 'FORBIDDEN_ERR');
    expect403(await r.legacy(root.id, 'rotate', {}), '?action=rotate', 'FORBIDDEN_ERR');
    const meta = (await kp(srv, srv.token).metadata(root.id)).json.resources[0];
    assert.equal(meta.state, 1, 'nothing the Reader was refused happened');
  });

  test('ReaderPlus reads a standard key with its payload', async () => {
    const u = await userWith(srv, 'readerplus', srv.instance, ['ReaderPlus']);
    const res = await kp(srv, u.token).get(standard.id);
    expectStatus(res, 200, 'GET standard key as ReaderPlus');
    assert.equal(res.json.resources[0].payload, standard.payload);
    expect403(await kp(srv, u.token).create({ name: 'nope' }), 'create as ReaderPlus');
  });

  test('Writer creates and rotates but cannot disable or delete', async () => {
    const u = await userWith(srv, 'writer', srv.instance, ['Writer']);
    const w = kp(srv, u.token);
    const res = await w.create({ name: 'writer-key', extractable: false });
    expectStatus(res, 201, 'create as Writer');
    const id = res.json.resources[0].id;
    assert.equal(res.json.resources[0].createdBy, u.principal.id, 'createdBy is the principal');
    expectStatus(await w.act(id, 'rotate', {}), 204, 'rotate as Writer');
    expect403(await w.act(id, 'disable'), 'disable as Writer', 'FORBIDDEN_ERR');
    expect403(await w.del(id), 'delete as Writer', 'FORBIDDEN_ERR');
    expectStatus(await w.get(id), 200, 'GET as Writer');
  });

  test('Manager disables, enables, deletes and restores', async () => {
    const u = await userWith(srv, 'manager', srv.instance, ['Manager']);
    const m = kp(srv, u.token);
    const id = (await createRootKey(srv, { name: 'mgr-key' })).id;
    expectStatus(await m.act(id, 'disable'), 204, 'disable as Manager');
    await srv.advanceClock(31);  // enable: 30 s after the previous action
    expectStatus(await m.act(id, 'enable'), 204, 'enable as Manager');
    const del = await m.del(id);
    assert.ok([200, 204].includes(del.status), `delete as Manager: ${desc(del)}`);
    await srv.advanceClock(31);  // restore: 30 s after the delete
    expectStatus(await m.restore(id), 201, 'restore as Manager');
  });

  test('key-ring policies: the ring of the key grants, another ring does not', async () => {
    const inRing = await userWith(srv, 'ring-default', srv.instance, ['Reader'], { keyRingId: 'default' });
    const r = kp(srv, inRing.token);
    expectStatus(await r.act(root.id, 'wrap', {}), 200, 'wrap with a policy on the key\'s ring');
    assert.ok(listedIds(await r.list()).includes(root.id), 'ring-level access is listed');
    const other = await userWith(srv, 'ring-other', srv.instance, ['Reader'], { keyRingId: 'payments' });
    const o = kp(srv, other.token);
    expect403(await o.act(root.id, 'wrap', {}), 'wrap with a policy on another ring', 'FORBIDDEN_ERR');
    expect403(await o.metadata(root.id), 'metadata with a policy on another ring', 'FORBIDDEN_ERR');
    const list = await o.list();
    expectStatus(list, 200, 'list with a policy on another ring');
    assert.deepEqual(listedIds(list), []);
  });

  test('KeyPurge alone cannot list, read or wrap', async () => {
    const u = await userWith(srv, 'purger', srv.instance, ['KeyPurge']);
    const p = kp(srv, u.token);
    expect403(await p.list(), 'list as KeyPurge', 'FORBIDDEN_ERR');
    const head = await p.head();
    assert.equal(head.status, 403, `HEAD as KeyPurge: ${desc(head)}`);  // HEAD: no body
    assert.equal(head.headers.get('key-total'), null);
    expect403(await p.metadata(root.id), 'metadata as KeyPurge', 'FORBIDDEN_ERR');
    expect403(await p.act(root.id, 'wrap', {}), 'wrap as KeyPurge', 'FORBIDDEN_ERR');
  });

  test('a key-level policy: reachable by id, never listed, Key-Total 0', async () => {
    const target = await createRootKey(srv, { name: 'fine-grained' });
    const u = await userWith(srv, 'keyonly', srv.instance, ['Reader'], { keyId: target.id });
    const r = kp(srv, u.token);
    expectStatus(await r.metadata(target.id), 200, 'metadata of the key of the policy');
    const w = await r.act(target.id, 'wrap', {});
    expectStatus(w, 200, 'wrap with the key of the policy');
    expectStatus(await r.act(target.id, 'unwrap', { ciphertext: w.json.ciphertext }), 200);
    const list = await r.list();
    expectStatus(list, 200, 'list with only a key-level policy');
    assert.deepEqual(listedIds(list), [], `key-level access is not listed: ${desc(list)}`);
    const head = await r.head();
    expectStatus(head, 200, 'HEAD with only a key-level policy');
    assert.equal(head.headers.get('key-total'), '0');
    expect403(await r.metadata(root.id), 'another key of the instance', 'FORBIDDEN_ERR');
    expect403(await r.get(target.id), 'GET needs ReaderPlus even on the key', 'FORBIDDEN_ERR');
  });

  test('without access: an existing key and a random id get the same 403', async () => {
    const u = await userWith(srv, 'nobody', srv.instance, null);
    const r = kp(srv, u.token);
    const normalize = (res) => {
      const cid = res.headers.get('correlation-id');
      return cid ? res.text.split(cid).join('<cid>') : res.text;
    };
    const pairs = [
      [await r.metadata(root.id), await r.metadata(crypto.randomUUID())],
      [await r.get(root.id), await r.get(crypto.randomUUID())],
      [await r.act(root.id, 'wrap', {}), await r.act(crypto.randomUUID(), 'wrap', {})],
    ];
    for (const [known, unknown] of pairs) {
      expectError(known, 403, 'FORBIDDEN_ERR');
      expectError(unknown, 403, 'FORBIDDEN_ERR');
      assert.equal(normalize(known), normalize(unknown), 'a 403 must not reveal whether the key exists');
    }
    expect403(await r.list(), 'list without any policy', 'FORBIDDEN_ERR');
  });
});

// ---------------------------------------------------------------- 3. cross-tenant isolation

describe('cross-tenant isolation', () => {
  const srv = useServer({ args: ['--test-clock'] });
  let instA;
  let instB;
  let bRoot;
  let bStd;
  let bDeleted;
  let bWdek;
  let mallory;

  before(async () => {
    instA = await srv.createInstance('tenant-a');
    instB = await srv.createInstance('tenant-b');
    bRoot = await createRootKey(srv, { name: 'b-secret-root' }, { instance: instB });
    bStd = await createStandardKey(srv, { name: 'b-secret-std', payload: randB64(32) }, { instance: instB });
    bDeleted = await createRootKey(srv, { name: 'b-deleted' }, { instance: instB });
    expectStatus(await kp(srv, srv.token, instB).del(bDeleted.id), 200, 'admin deletes a B key');
    await srv.advanceClock(31);
    const w = await kp(srv, srv.token, instB).act(bRoot.id, 'wrap', {});
    expectStatus(w, 200);
    bWdek = w.json.ciphertext;
    mallory = await userWith(srv, 'mallory', instA, ['Manager']);
    await createRootKey(srv, { name: 'a-key' }, { instance: instA });
  });

  test('Manager of A gets 403 and no data on every key endpoint with Bluemix-Instance B', async () => {
    const m = kp(srv, mallory.token, instB);
    expectStatus(await kp(srv, mallory.token, instA).list(), 200, 'sanity: A is readable');
    const calls = [
      ['list', () => m.list()],
      ['list state=5', () => m.list('?state=0,1,2,3,5')],
      ['HEAD', () => m.head()],
      ['create', () => m.create({ name: 'planted' })],
      ['get root', () => m.get(bRoot.id)],
      ['get standard', () => m.get(bStd.id)],
      ['metadata', () => m.metadata(bRoot.id)],
      ['versions', () => m.versions(bRoot.id)],
      ['wrap', () => m.act(bRoot.id, 'wrap', {})],
      ['unwrap', () => m.act(bRoot.id, 'unwrap', { ciphertext: bWdek })],
      ['rewrap', () => m.act(bRoot.id, 'rewrap', { ciphertext: bWdek })],
      ['rotate', () => m.act(bRoot.id, 'rotate', {})],
      ['enable', () => m.act(bRoot.id, 'enable')],
      ['disable', () => m.act(bRoot.id, 'disable')],
      ['delete', () => m.del(bRoot.id)],
      ['restore', () => m.restore(bDeleted.id)],
      ['?action=wrap', () => m.legacy(bRoot.id, 'wrap', {})],
      ['?action=unwrap', () => m.legacy(bRoot.id, 'unwrap', { ciphertext: bWdek })],
      ['?action=rewrap', () => m.legacy(bRoot.id, 'rewrap', { ciphertext: bWdek })],
      ['?action=rotate', () => m.legacy(bRoot.id, 'rotate', {})],
      ['?action=disable', () => m.legacy(bRoot.id, 'disable')],
      ['?action=enable', () => m.legacy(bRoot.id, 'enable')],
      ['?action=restore', () => m.legacy(bDeleted.id, 'restore')],
    ];
    for (const [what, call] of calls) {
      const res = await call();
      if (what === 'HEAD') {
        assert.equal(res.status, 403, `HEAD: ${desc(res)}`);
        assert.equal(res.headers.get('key-total'), null, 'HEAD 403 carries no Key-Total');
        continue;
      }
      expect403(res, what, 'FORBIDDEN_ERR');
      for (const secret of ['b-secret', bStd.payload, bWdek]) {
        assert.ok(!res.text.includes(secret), `${what}: the answer leaks B data: ${desc(res)}`);
      }
    }
    // Nothing changed in B.
    const b = kp(srv, srv.token, instB);
    const root = (await b.metadata(bRoot.id)).json.resources[0];
    assert.equal(root.state, 1);
    assert.equal(root.keyVersion.id, bRoot.keyVersion.id, 'not rotated');
    assert.equal((await b.metadata(bDeleted.id)).json.resources[0].state, 5, 'not restored');
    const names = (await b.list()).json.resources.map((k) => k.name);
    assert.ok(!names.includes('planted'), 'no key planted in B');
  });

  test('the Bluemix-Instance header decides: A key ids are not reachable through B either', async () => {
    const aKey = (await kp(srv, mallory.token, instA).create({ name: 'a-own' })).json.resources[0];
    expect403(await kp(srv, mallory.token, instB).metadata(aKey.id), 'own key through B');
    // and B's key is not found through A (different tenant): never 200.
    const res = await kp(srv, mallory.token, instA).metadata(bRoot.id);
    assert.ok([403, 404].includes(res.status), `B key through A: ${desc(res)}`);
    assert.ok(!res.text.includes('b-secret'), desc(res));
  });

  test('a Manager of A naming a B key id in an A policy or authorization gains nothing on it', async () => {
    const opts = { token: mallory.token };
    const pol = await adminReq(srv, 'POST', '/admin/v1/policies',
                               { principalId: mallory.principal.id, instanceId: instA, keyId: bRoot.id,
                                 roles: ['Manager', 'ReaderPlus'] }, opts);
    assert.ok([201, 400, 404].includes(pol.status), `policy naming a B key: ${desc(pol)}`);
    const svc = await createServiceId(srv, 'sneaky', 'sneaky-svc');
    const svcToken = await tokenFor(srv, (await createApiKey(srv, svc.id)).apikey);
    const authz = await adminReq(srv, 'POST', '/admin/v1/authorizations',
                                 { sourceServiceId: svc.id, instanceId: instA, keyId: bRoot.id, role: 'Manager' },
                                 opts);
    assert.ok([201, 400, 404].includes(authz.status), `authorization naming a B key: ${desc(authz)}`);
    for (const [who, token] of [['mallory', mallory.token], ['service', svcToken]]) {
      for (const inst of [instA, instB]) {
        const c = kp(srv, token, inst);
        for (const [what, res] of [
          ['metadata', await c.metadata(bRoot.id)],
          ['get', await c.get(bStd.id)],
          ['wrap', await c.act(bRoot.id, 'wrap', {})],
          ['unwrap', await c.act(bRoot.id, 'unwrap', { ciphertext: bWdek })],
        ]) {
          assert.ok([403, 404].includes(res.status),
                    `${who} ${what} of a B key with Bluemix-Instance ${inst === instA ? 'A' : 'B'}: ${desc(res)}`);
          assert.ok(!res.text.includes('b-secret') && !res.text.includes(bStd.payload), desc(res));
        }
      }
    }
  });

  test('an instance that was never created: 403', async () => {
    const ghost = crypto.randomUUID();
    const m = kp(srv, mallory.token, ghost);
    expect403(await m.list(), 'list in a never-created instance', 'FORBIDDEN_ERR');
    expect403(await m.create({ name: 'ghost' }), 'create in a never-created instance', 'FORBIDDEN_ERR');
    expect403(await m.metadata(bRoot.id), 'metadata in a never-created instance', 'FORBIDDEN_ERR');
    const asAdmin = kp(srv, srv.token, ghost);
    expect403(await asAdmin.list(), 'admin lists a never-created instance', 'FORBIDDEN_ERR');
    expect403(await asAdmin.create({ name: 'ghost' }), 'admin creates in a never-created instance', 'FORBIDDEN_ERR');
  });
});

// ---------------------------------------------------------------- 4. token attacks

describe('token attacks', () => {
  const srv = useServer({ args: ['--test-clock'] });
  let u;

  before(async () => {
    u = await userWith(srv, 'victim', srv.instance, ['Reader']);
    expectStatus(await kp(srv, u.token).list(), 200, 'sanity: the real token works');
  });

  const expect401 = (res, what) => {
    assert.equal(res.status, 401, `${what}: expected 401, got ${desc(res)}`);
    expectError(res, 401, 'UNAUTHORIZED_ERR');
  };

  test('alg "none" with an empty signature is refused', async () => {
    const { parts, header } = decodeJwt(u.token);
    for (const alg of ['none', 'None', 'NONE']) {
      const forged = `${b64urlJson({ ...header, alg })}.${parts[1]}.`;
      expect401(await kp(srv, forged).list(), `alg ${alg}`);
      const noKid = `${b64urlJson({ alg, typ: 'JWT' })}.${parts[1]}.`;
      expect401(await kp(srv, noKid).list(), `alg ${alg} without kid`);
    }
  });

  test('HS256 (key confusion) is refused', async () => {
    const { parts, header } = decodeJwt(u.token);
    const h = b64urlJson({ ...header, alg: 'HS256' });
    for (const secret of [Buffer.from(parts[0]), Buffer.from(header.kid || 'kid'), Buffer.alloc(0)]) {
      const sig = crypto.createHmac('sha256', secret).update(`${h}.${parts[1]}`).digest('base64url');
      expect401(await kp(srv, `${h}.${parts[1]}.${sig}`).list(), 'HS256');
    }
  });

  test('ES256 signed with the attacker\'s own key (also with that key embedded as jwk) is refused', async () => {
    const { parts, header, payload } = decodeJwt(u.token);
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sign = (h, p) => {
      const input = `${b64urlJson(h)}.${b64urlJson(p)}`;
      const sig = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      return `${input}.${b64url(sig)}`;
    };
    const admin = { ...payload, sub: 'user-admin' };
    const jwk = publicKey.export({ format: 'jwk' });
    const cases = [
      ['own ES256 key, same claims', sign(header, payload)],
      ['own ES256 key, sub user-admin', sign(header, admin)],
      // A JWT whose header embeds the signer's key is still a JWT: 401, not 400.
      ['embedded jwk', sign({ ...header, jwk }, admin)],
      ['embedded jwk, no kid', sign({ alg: 'ES256', typ: 'JWT', jwk }, admin)],
      ['jku', sign({ ...header, jku: 'http://127.0.0.1:1/jwks.json' }, admin)],
      // The real signature under another alg name.
      ...['ES384', 'RS256', 'PS256', 'EdDSA'].map((alg) =>
        [`alg ${alg}`, `${b64urlJson({ ...header, alg })}.${parts[1]}.${parts[2]}`]),
    ];
    const wrong = [];
    for (const [what, token] of cases) {
      const res = await kp(srv, token).list();
      try { expect401(res, what); } catch (e) { wrong.push(`${what}: ${desc(res)}`); }
    }
    assert.deepEqual(wrong, [], 'forged ES256 tokens: 401 UNAUTHORIZED_ERR');
  });

  test('a tampered payload (sub flipped to user-admin) is refused', async () => {
    const { parts, payload } = decodeJwt(u.token);
    const forged = `${parts[0]}.${b64urlJson({ ...payload, sub: 'user-admin' })}.${parts[2]}`;
    expect401(await kp(srv, forged).list(), 'tampered sub');
    expect401(await adminReq(srv, 'GET', '/admin/v1/principals', undefined, { token: forged }),
              'tampered sub on the admin API');
    const longer = `${parts[0]}.${b64urlJson({ ...payload, exp: payload.exp + 86400 })}.${parts[2]}`;
    expect401(await kp(srv, longer).list(), 'tampered exp');
    const { header } = decodeJwt(u.token);
    const otherKid = `${b64urlJson({ ...header, kid: `${header.kid}x` })}.${parts[1]}.${parts[2]}`;
    expect401(await kp(srv, otherKid).list(), 'tampered kid');
    // A flipped bit in the signature.
    const sig = Buffer.from(parts[2], 'base64url');
    sig[10] ^= 1;
    expect401(await kp(srv, `${parts[0]}.${parts[1]}.${b64url(sig)}`).list(), 'flipped signature bit');
  });

  test('the token of a deleted principal stops working', async () => {
    const v = await userWith(srv, 'leaver', srv.instance, ['Reader']);
    expectStatus(await kp(srv, v.token).list(), 200);
    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/principals/${v.principal.id}`), 204);
    expect401(await kp(srv, v.token).list(), 'token of a deleted principal');
    const pols = await adminOk(srv, 'GET', `/admin/v1/policies?principalId=${v.principal.id}`, undefined, 200);
    assert.deepEqual(pols.policies, [], 'policies go with the principal');
    expect401(await tokenRequest(srv, { grant_type: GRANT, apikey: v.apikey }),
              'API key of a deleted principal');
  });

  test('the token of a deleted API key stops working on the next request', async () => {
    const v = await userWith(srv, 'rotator', srv.instance, ['Reader']);
    const second = await createApiKey(srv, v.principal.id, 'second');
    const otherToken = await tokenFor(srv, second.apikey);
    expectStatus(await kp(srv, v.token).list(), 200);
    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/api_keys/${v.apiKey.id}`), 204);
    expect401(await kp(srv, v.token).list(), 'token of a deleted API key');
    expectStatus(await kp(srv, otherToken).list(), 200, 'a token of another key of the principal');
  });

  test('garbage "a.b.c" and an opaque wrong token', async () => {
    for (const garbage of ['a.b.c', 'not-a-jwt-at-all', 'a.b', '..']) {
      const res = await kp(srv, garbage).list();
      assert.ok([400, 401].includes(res.status), `${garbage}: ${desc(res)}`);
      expectError(res, res.status, res.status === 400 ? 'BEARER_SUB_EXTRACTION_ERR' : 'UNAUTHORIZED_ERR');
    }
    expect401(await kp(srv, `kw-test-${crypto.randomBytes(16).toString('hex')}`).list(), 'opaque token');
    expect401(await kp(srv, `${srv.token}x`).list(), 'bootstrap token plus one char');
  });

  test('expired: a token is refused once the clock passes exp; the bootstrap token keeps working', async () => {
    const t = await tokenFor(srv, (await createApiKey(srv, u.principal.id, 'expiry')).apikey);
    expectStatus(await kp(srv, t).list(), 200);
    const { payload } = decodeJwt(t);
    await srv.advanceClock(3700);  // as the bootstrap admin
    expect401(await kp(srv, t).list(), 'expired token');
    expect401(await kp(srv, u.token).list(), 'expired first token');
    expectStatus(await kp(srv, srv.token).list(), 200, 'bootstrap admin token after the clock move');
    // A new token from the same key works and carries the new time.
    const fresh = await tokenFor(srv, u.apikey);
    expectStatus(await kp(srv, fresh).list(), 200, 'fresh token');
    assert.ok(decodeJwt(fresh).payload.iat >= payload.iat + 3700);
  });
});

// ---------------------------------------------------------------- 5. token endpoint

describe('POST /identity/token', () => {
  const srv = useServer({ args: ['--test-clock'] });
  let user;
  let key;

  before(async () => {
    user = await createUser(srv, 'tok-user');
    key = await createApiKey(srv, user.id, 'tok');
  });

  test('answer shape and JWT header/claims', async () => {
    const res = await tokenRequest(srv, { grant_type: GRANT, apikey: key.apikey, response_type: 'cloud_iam' });
    expectStatus(res, 200, 'token');
    const b = res.json;
    assert.equal(typeof b.access_token, 'string');
    assert.equal(b.refresh_token, 'not_supported');
    assert.equal(b.token_type, 'Bearer');
    assert.equal(b.expires_in, 3600);
    assert.equal(typeof b.expiration, 'number');
    assert.equal(b.scope, 'keywarden');
    const { header, payload, signature } = decodeJwt(b.access_token);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'JWT');
    assert.ok(typeof header.kid === 'string' && header.kid.length > 0, `kid ${header.kid}`);
    assert.equal(signature.length, 64, 'ES256 JWS signature is R||S, 64 bytes');
    assert.equal(payload.iss, 'keywarden');
    assert.equal(payload.sub, user.id);
    assert.equal(payload.akid, key.id);
    assert.equal(payload.kind, 'user');
    assert.equal(payload.exp, b.expiration);
    assert.equal(payload.exp - payload.iat, 3600);
    assert.ok(payload.nbf <= payload.iat + 1);
    assert.ok(typeof payload.jti === 'string' && payload.jti.length > 0);
    const again = await tokenFor(srv, key.apikey);
    assert.notEqual(decodeJwt(again).payload.jti, payload.jti, 'jti is unique');
    // Without response_type too.
    expectStatus(await tokenRequest(srv, { grant_type: GRANT, apikey: key.apikey }), 200);
  });

  test('wrong grant_type and missing apikey: 400 BAD_REQUEST_ERR', async () => {
    expectError(await tokenRequest(srv, { grant_type: 'password', apikey: key.apikey }), 400, 'BAD_REQUEST_ERR');
    expectError(await tokenRequest(srv, { apikey: key.apikey }), 400, 'BAD_REQUEST_ERR');
    expectError(await tokenRequest(srv, { grant_type: GRANT }), 400, 'BAD_REQUEST_ERR');
    expectError(await tokenRequest(srv, { grant_type: GRANT, apikey: '' }), 400, 'BAD_REQUEST_ERR');
  });

  test('unknown key: 401 and an auth.failure audit record without the key', async () => {
    const wrong = `kwk_${crypto.randomBytes(4).toString('hex')}_${b64url(crypto.randomBytes(32))}`;
    expectError(await tokenRequest(srv, { grant_type: GRANT, apikey: wrong }), 401, 'UNAUTHORIZED_ERR');
    const audit = await adminOk(srv, 'GET', '/admin/v1/audit?limit=1000', undefined, 200);
    const failures = audit.records.filter((r) => r.action === 'auth.failure');
    assert.ok(failures.length >= 1, `no auth.failure record: ${JSON.stringify(audit.records.slice(-3))}`);
    assert.equal(failures[failures.length - 1].outcome, 'failure');
    const all = JSON.stringify(audit);
    assert.ok(!all.includes(wrong), 'the audit log holds the presented key');
    assert.ok(!all.includes(wrong.slice(13)), 'the audit log holds the secret part of the key');
    assert.ok(!all.includes(key.apikey.slice(13)), 'the audit log holds a real key secret');
  });

  test('six wrong tries with one key prefix: 429 with Retry-After', async () => {
    const k = await createApiKey(srv, user.id, 'throttled');
    const prefix = k.apikey.slice(0, 12);
    assert.equal(prefix, k.prefix);
    const statuses = [];
    let last;
    for (let i = 0; i < 6; i++) {
      last = await tokenRequest(srv, { grant_type: GRANT, apikey: `${prefix}_${b64url(crypto.randomBytes(32))}` });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401], `statuses ${statuses}`);
    expectError(last, 429, 'TOO_MANY_REQUESTS_ERR');
    const ra = last.headers.get('retry-after');
    assert.match(String(ra), /^[1-9]\d*$/, `Retry-After ${ra}`);
    assert.ok(Number(ra) <= 60, `Retry-After ${ra}`);
    // Another key prefix is not affected.
    expectStatus(await tokenRequest(srv, { grant_type: GRANT, apikey: key.apikey }), 200,
                 'a key with another prefix');
  });

  test('too many failures from one source address: 429 for every key, until the window passes', async () => {
    // Before this test the address has at most 10 failures in the window
    // (1 unknown key, 5 wrong tries, and the four 400s if they count), so
    // the 20-per-address limit is reached within 15 more.
    let res;
    let n = 0;
    for (; n < 25; n++) {
      const wrong = `kwk_${crypto.randomBytes(4).toString('hex')}_${b64url(crypto.randomBytes(32))}`;
      res = await tokenRequest(srv, { grant_type: GRANT, apikey: wrong });
      if (res.status !== 401) break;
    }
    expectError(res, 429, 'TOO_MANY_REQUESTS_ERR');
    assert.ok(n < 15, `429 only after ${n + 1} failures with fresh prefixes`);
    assert.match(String(res.headers.get('retry-after')), /^[1-9]\d*$/);
    const valid = await tokenRequest(srv, { grant_type: GRANT, apikey: key.apikey });
    expectError(valid, 429, 'TOO_MANY_REQUESTS_ERR');
    await srv.advanceClock(61);
    expectStatus(await tokenRequest(srv, { grant_type: GRANT, apikey: key.apikey }), 200,
                 'the throttle window follows the server clock');
  });
});

// ---------------------------------------------------------------- 6. admin API

describe('admin API (docs/admin-api.md)', () => {
  const srv = useServer({ args: ['--test-clock'] });

  test('users and service ids: create, list by kind, delete', async () => {
    const u = await createUser(srv, 'alice');
    assert.match(u.id, /^user-/);
    assert.equal(u.kind, 'user');
    assert.equal(u.name, 'alice');
    assert.equal(u.serviceType, '');
    assert.equal(u.admin, false);
    assert.match(u.createdAt, RFC3339_RE);
    assert.equal(typeof u.createdBy, 'string');
    assert.ok(u.createdBy.length > 0);
    const s = await createServiceId(srv, 'cos-east', 'object-storage');
    assert.equal(s.kind, 'service_id');
    assert.equal(s.serviceType, 'object-storage');
    assert.equal(s.admin, false);

    const all = (await adminOk(srv, 'GET', '/admin/v1/principals', undefined, 200)).principals;
    const ids = all.map((p) => p.id);
    assert.ok(ids.includes(u.id) && ids.includes(s.id) && ids.includes('user-admin'), ids.join());
    const users = (await adminOk(srv, 'GET', '/admin/v1/principals?kind=user', undefined, 200)).principals;
    assert.ok(users.every((p) => p.kind === 'user') && users.some((p) => p.id === u.id));
    assert.ok(users.some((p) => p.id === 'user-admin' && p.admin === true), 'bootstrap user-admin');
    const sids = (await adminOk(srv, 'GET', '/admin/v1/principals?kind=service_id', undefined, 200)).principals;
    assert.ok(sids.every((p) => p.kind === 'service_id') && sids.some((p) => p.id === s.id));

    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/principals/${s.id}`), 204);
    const after = (await adminOk(srv, 'GET', '/admin/v1/principals', undefined, 200)).principals;
    assert.ok(!after.some((p) => p.id === s.id), 'deleted service id is gone');
  });

  test('API keys: the secret only in the create answer; delete; keys go with their principal', async () => {
    const u = await createUser(srv, 'bob');
    const k = await createApiKey(srv, u.id, 'ci');
    assert.equal(k.principalId, u.id);
    assert.equal(k.name, 'ci');
    assert.match(k.prefix, /^kwk_[0-9a-f]{8}$/);
    assert.ok(k.apikey.startsWith(`${k.prefix}_`), k.apikey);
    assert.match(k.createdAt, RFC3339_RE);
    const k2 = await createApiKey(srv, u.id, 'ci2');

    const res = await adminReq(srv, 'GET', `/admin/v1/api_keys?principalId=${u.id}`);
    expectStatus(res, 200);
    const listed = res.json.apiKeys;
    assert.deepEqual(listed.map((x) => x.id).sort(), [k.id, k2.id].sort());
    for (const x of listed) assert.equal(x.apikey, undefined, 'list never shows the secret');
    assert.ok(!res.text.includes(k.apikey.slice(13)) && !res.text.includes(k2.apikey.slice(13)));
    const everyone = await adminReq(srv, 'GET', '/admin/v1/api_keys');
    expectStatus(everyone, 200);
    assert.ok(!everyone.text.includes(k.apikey.slice(13)));

    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/api_keys/${k.id}`), 204);
    const left = (await adminOk(srv, 'GET', `/admin/v1/api_keys?principalId=${u.id}`, undefined, 200)).apiKeys;
    assert.deepEqual(left.map((x) => x.id), [k2.id]);
    expectError(await tokenRequest(srv, { grant_type: GRANT, apikey: k.apikey }), 401, 'UNAUTHORIZED_ERR');

    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/principals/${u.id}`), 204);
    const gone = (await adminOk(srv, 'GET', `/admin/v1/api_keys?principalId=${u.id}`, undefined, 200)).apiKeys;
    assert.deepEqual(gone, [], 'API keys go with their principal');
  });

  test('instances: create, list, delete; 409 INSTANCE_NOT_EMPTY_ERR while keys exist', async () => {
    const inst = await adminOk(srv, 'POST', '/admin/v1/instances', { name: 'prod' }, 201);
    assert.match(inst.id, UUID_RE);
    assert.equal(inst.name, 'prod');
    assert.match(inst.createdAt, RFC3339_RE);
    const empty = await adminOk(srv, 'POST', '/admin/v1/instances', { name: 'scratch' }, 201);
    const listed = (await adminOk(srv, 'GET', '/admin/v1/instances', undefined, 200)).instances.map((i) => i.id);
    assert.ok(listed.includes(inst.id) && listed.includes(empty.id) && listed.includes(srv.instance));

    await createRootKey(srv, { name: 'keeps-it' }, { instance: inst.id });
    expectError(await adminReq(srv, 'DELETE', `/admin/v1/instances/${inst.id}`), 409, 'INSTANCE_NOT_EMPTY_ERR');
    const still = (await adminOk(srv, 'GET', '/admin/v1/instances', undefined, 200)).instances;
    assert.ok(still.some((i) => i.id === inst.id), 'refused delete keeps the instance');
    expectStatus(await kp(srv, srv.token, inst.id).list(), 200, 'instance still usable');

    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/instances/${empty.id}`), 204);
    const after = (await adminOk(srv, 'GET', '/admin/v1/instances', undefined, 200)).instances;
    assert.ok(!after.some((i) => i.id === empty.id), 'deleted instance is gone');
    expectError(await kp(srv, srv.token, empty.id).list(), 403, 'FORBIDDEN_ERR');
    expectError(await kp(srv, srv.token, empty.id).create({ name: 'resurrect' }), 403, 'FORBIDDEN_ERR');
  });

  test('policies: create, list by instance and by principal, delete', async () => {
    const u = await createUser(srv, 'carol');
    const p = await createPolicy(srv, u.id, srv.instance, ['Writer']);
    assert.equal(p.principalId, u.id);
    assert.equal(p.instanceId, srv.instance);
    assert.equal(p.keyRingId, null);
    assert.equal(p.keyId, null);
    assert.deepEqual(p.roles, ['Writer']);
    assert.match(p.createdAt, RFC3339_RE);
    const byInst = (await adminOk(srv, 'GET', `/admin/v1/policies?instanceId=${srv.instance}`, undefined, 200)).policies;
    assert.ok(byInst.some((x) => x.id === p.id) && byInst.every((x) => x.instanceId === srv.instance));
    const byPrin = (await adminOk(srv, 'GET', `/admin/v1/policies?principalId=${u.id}`, undefined, 200)).policies;
    assert.deepEqual(byPrin.map((x) => x.id), [p.id]);
    const token = await tokenFor(srv, (await createApiKey(srv, u.id)).apikey);
    expectStatus(await kp(srv, token).create({ name: 'carols' }), 201, 'policy is effective');
    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/policies/${p.id}`), 204);
    const none = (await adminOk(srv, 'GET', `/admin/v1/policies?principalId=${u.id}`, undefined, 200)).policies;
    assert.deepEqual(none, []);
    expect403(await kp(srv, token).create({ name: 'carols-2' }), 'after the policy was deleted');
    // Roles are checked.
    expectStatus(await adminReq(srv, 'POST', '/admin/v1/policies',
                                { principalId: u.id, instanceId: srv.instance, roles: ['Overlord'] }), 400);
  });

  test('authorizations: create (default role Reader), list, delete', async () => {
    const a = await adminOk(srv, 'POST', '/admin/v1/authorizations',
                            { sourceServiceType: 'object-storage', instanceId: srv.instance }, 201);
    assert.equal(a.sourceServiceType, 'object-storage');
    assert.equal(a.sourceServiceId, '');
    assert.equal(a.instanceId, srv.instance);
    assert.equal(a.keyRingId, null);
    assert.equal(a.keyId, null);
    assert.equal(a.role, 'Reader');
    assert.match(a.createdAt, RFC3339_RE);
    const listed = (await adminOk(srv, 'GET', `/admin/v1/authorizations?instanceId=${srv.instance}`, undefined, 200)).authorizations;
    assert.ok(listed.some((x) => x.id === a.id));
    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/authorizations/${a.id}`), 204);
    const after = (await adminOk(srv, 'GET', `/admin/v1/authorizations?instanceId=${srv.instance}`, undefined, 200)).authorizations;
    assert.ok(!after.some((x) => x.id === a.id));
  });

  test('a non-admin without Manager gets 403 FORBIDDEN_ERR on every admin endpoint', async () => {
    const u = await userWith(srv, 'dave', srv.instance, ['Writer']);
    const victim = await createUser(srv, 'erin');
    const pol = await createPolicy(srv, victim.id, srv.instance, ['Reader']);
    const vk = await createApiKey(srv, victim.id);
    const authz = await adminOk(srv, 'POST', '/admin/v1/authorizations',
                                { sourceServiceType: 'x-svc', instanceId: srv.instance }, 201);
    const calls = [
      ['POST', '/admin/v1/users', { name: 'evil', admin: true }],
      ['POST', '/admin/v1/service_ids', { name: 'evil', serviceType: 'object-storage' }],
      ['GET', '/admin/v1/principals'],
      ['DELETE', `/admin/v1/principals/${victim.id}`],
      ['POST', '/admin/v1/api_keys', { principalId: victim.id, name: 'stolen' }],
      ['POST', '/admin/v1/api_keys', { principalId: u.principal.id, name: 'self' }],
      ['GET', '/admin/v1/api_keys'],
      ['DELETE', `/admin/v1/api_keys/${vk.id}`],
      ['POST', '/admin/v1/instances', { name: 'mine' }],
      ['GET', '/admin/v1/instances'],
      ['DELETE', `/admin/v1/instances/${srv.instance}`],
      ['POST', '/admin/v1/policies', { principalId: u.principal.id, instanceId: srv.instance, roles: ['Manager'] }],
      ['GET', `/admin/v1/policies?instanceId=${srv.instance}`],
      ['GET', '/admin/v1/policies'],
      ['GET', `/admin/v1/policies?principalId=${victim.id}`],
      ['DELETE', `/admin/v1/policies/${pol.id}`],
      ['POST', '/admin/v1/authorizations', { sourceServiceType: 'object-storage', instanceId: srv.instance }],
      ['GET', `/admin/v1/authorizations?instanceId=${srv.instance}`],
      ['GET', '/admin/v1/authorizations'],
      ['DELETE', `/admin/v1/authorizations/${authz.id}`],
      ['GET', '/admin/v1/audit'],
    ];
    const wrong = [];
    for (const [method, path, body] of calls) {
      const res = await adminReq(srv, method, path, body, { token: u.token });
      try {
        expectError(res, 403, 'FORBIDDEN_ERR');
      } catch {
        wrong.push(`${method} ${path} as a Writer: ${desc(res)}`);
      }
    }
    assert.deepEqual(wrong, [], 'every admin call of a non-admin without Manager is 403 FORBIDDEN_ERR');
    // Nothing happened.
    const pols = (await adminOk(srv, 'GET', `/admin/v1/policies?principalId=${victim.id}`, undefined, 200)).policies;
    assert.deepEqual(pols.map((p) => p.id), [pol.id]);
    const keys = (await adminOk(srv, 'GET', `/admin/v1/api_keys?principalId=${victim.id}`, undefined, 200)).apiKeys;
    assert.deepEqual(keys.map((k) => k.id), [vk.id]);
    const mine = (await adminOk(srv, 'GET', `/admin/v1/policies?principalId=${u.principal.id}`, undefined, 200)).policies;
    assert.ok(mine.every((p) => !p.roles.includes('Manager')), 'no self-escalation');
  });

  test('a Manager administers policies and authorizations of its own instance only', async () => {
    const other = await srv.createInstance('not-mine');
    const m = await userWith(srv, 'frank', srv.instance, ['Manager']);
    const grantee = await createUser(srv, 'grace');
    const opts = { token: m.token };
    let res = await adminReq(srv, 'POST', '/admin/v1/policies',
                             { principalId: grantee.id, instanceId: srv.instance, roles: ['Reader'] }, opts);
    expectStatus(res, 201, 'Manager creates a policy in its instance');
    const pol = res.json;
    res = await adminReq(srv, 'GET', `/admin/v1/policies?instanceId=${srv.instance}`, undefined, opts);
    expectStatus(res, 200);
    assert.ok(res.json.policies.some((p) => p.id === pol.id));
    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/policies/${pol.id}`, undefined, opts), 204);
    const foreignPol = await createPolicy(srv, grantee.id, other, ['Writer']);
    const foreignAuth = await adminOk(srv, 'POST', '/admin/v1/authorizations',
                                      { sourceServiceType: 'foreign-svc', instanceId: other }, 201);
    for (const path of ['/admin/v1/policies', `/admin/v1/policies?principalId=${grantee.id}`,
                        '/admin/v1/authorizations']) {
      res = await adminReq(srv, 'GET', path, undefined, opts);
      if (res.status === 200) {
        assert.ok(!res.text.includes(other), `${path} as Manager of another instance leaks it: ${desc(res)}`);
        assert.ok(!res.text.includes(foreignPol.id) && !res.text.includes(foreignAuth.id), desc(res));
      } else {
        expectError(res, 403, 'FORBIDDEN_ERR');
      }
    }

    expectError(await adminReq(srv, 'POST', '/admin/v1/policies',
                               { principalId: grantee.id, instanceId: other, roles: ['Reader'] }, opts),
                403, 'FORBIDDEN_ERR');
    expectError(await adminReq(srv, 'GET', `/admin/v1/policies?instanceId=${other}`, undefined, opts),
                403, 'FORBIDDEN_ERR');
    const foreign = await createPolicy(srv, grantee.id, other, ['Reader']);
    expectError(await adminReq(srv, 'DELETE', `/admin/v1/policies/${foreign.id}`, undefined, opts),
                403, 'FORBIDDEN_ERR');
    expectError(await adminReq(srv, 'POST', '/admin/v1/authorizations',
                               { sourceServiceType: 'object-storage', instanceId: other }, opts),
                403, 'FORBIDDEN_ERR');
    const foreignAuthz = await adminOk(srv, 'POST', '/admin/v1/authorizations',
                                       { sourceServiceType: 'object-storage', instanceId: other }, 201);
    expectError(await adminReq(srv, 'DELETE', `/admin/v1/authorizations/${foreignAuthz.id}`, undefined, opts),
                403, 'FORBIDDEN_ERR');
    for (const [method, path, body] of [
      ['POST', '/admin/v1/users', { name: 'x' }], ['GET', '/admin/v1/audit'],
      ['POST', '/admin/v1/instances', { name: 'x' }],
      ['POST', '/admin/v1/api_keys', { principalId: grantee.id, name: 'x' }],
    ]) {
      expectError(await adminReq(srv, method, path, body, opts), 403, 'FORBIDDEN_ERR');
    }
  });

  test('a principal with admin:true administers with its own token', async () => {
    const root = await createUser(srv, 'root2', { admin: true });
    assert.equal(root.admin, true);
    const token = await tokenFor(srv, (await createApiKey(srv, root.id)).apikey);
    const made = await adminReq(srv, 'POST', '/admin/v1/users', { name: 'by-root2' }, { token });
    expectStatus(made, 201);
    assert.equal(made.json.createdBy, root.id);
    expectStatus(await adminReq(srv, 'GET', '/admin/v1/audit', undefined, { token }), 200);
  });

  test('audit: a hash chain with correlation ids, paged with after/limit', async () => {
    const cid = crypto.randomUUID();
    const made = await adminReq(srv, 'POST', '/admin/v1/users', { name: 'audited' },
                                { headers: { 'Correlation-Id': cid } });
    expectStatus(made, 201);
    const respCid = made.headers.get('correlation-id');
    assert.ok(respCid, 'a correlation-id response header');

    const { records } = await adminOk(srv, 'GET', '/admin/v1/audit?limit=1000', undefined, 200);
    assert.ok(records.length >= 10, `only ${records.length} records`);
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      assert.match(r.hash, /^[0-9a-f]{64}$/, JSON.stringify(r));
      assert.match(r.prevHash, /^[0-9a-f]+$/, JSON.stringify(r));
      assert.match(r.time, RFC3339_RE);
      assert.equal(typeof r.actor, 'string');
      assert.equal(typeof r.action, 'string');
      assert.ok(['success', 'failure', 'denied'].includes(r.outcome) || typeof r.outcome === 'string');
      assert.ok(typeof r.correlationId === 'string' && r.correlationId.length > 0,
                `record without correlation id: ${JSON.stringify(r)}`);
      if (i > 0) {
        assert.equal(r.seq, records[i - 1].seq + 1, 'seq increases by one');
        assert.equal(r.prevHash, records[i - 1].hash, `chain broken at seq ${r.seq}`);
      }
    }
    assert.equal(new Set(records.map((r) => r.hash)).size, records.length, 'hashes are distinct');
    const mine = records.find((r) => r.correlationId === respCid && r.action === 'iam.principal.create');
    assert.ok(mine, `no record with correlation id ${respCid}: ${JSON.stringify(records.slice(-2))}`);
    assert.equal(mine.actor, 'user-admin');
    assert.equal(mine.outcome, 'success');
    assert.ok(records.some((r) => r.action === 'iam.policy.create'), 'iam.policy.create recorded');

    const page = await adminOk(srv, 'GET', '/admin/v1/audit?limit=2', undefined, 200);
    assert.equal(page.records.length, 2);
    assert.equal(page.records[0].seq, records[0].seq);
    const next = await adminOk(srv, 'GET', `/admin/v1/audit?after=${page.records[1].seq}&limit=2`, undefined, 200);
    assert.equal(next.records[0].seq, page.records[1].seq + 1);
    assert.equal(next.records[0].prevHash, page.records[1].hash);
    expectStatus(await adminReq(srv, 'GET', '/admin/v1/audit?limit=1001'), 400, 'limit above 1000');
  });
});

// ---------------------------------------------------------------- bootstrap, restart, other servers

describe('bootstrap API key, restart and tokens of another server', () => {
  const adminKey = `bootstrap-${crypto.randomBytes(24).toString('hex')}`;
  const srv = useServer({ args: ['--test-clock'], env: { KEYWARDEN_ADMIN_APIKEY: adminKey } });
  const other = useServer({ args: ['--test-clock'], env: { KEYWARDEN_ADMIN_APIKEY: adminKey } });

  test('KEYWARDEN_ADMIN_APIKEY gives user-admin a token that administers', async () => {
    const token = await tokenFor(srv, adminKey);
    const { payload } = decodeJwt(token);
    assert.equal(payload.sub, 'user-admin');
    expectStatus(await adminReq(srv, 'GET', '/admin/v1/principals', undefined, { token }), 200);
    expectStatus(await kp(srv, token).list(), 200);
  });

  test('a token signed by another server is refused, even for the same principal', async () => {
    const foreign = await tokenFor(other, adminKey);
    assert.equal(decodeJwt(foreign).payload.sub, 'user-admin');
    const res = await kp(srv, foreign).list();
    assert.equal(res.status, 401, `token of another server: ${desc(res)}`);
    expectError(res, 401, 'UNAUTHORIZED_ERR');
    expectError(await adminReq(srv, 'GET', '/admin/v1/principals', undefined, { token: foreign }),
                401, 'UNAUTHORIZED_ERR');
  });

  test('no Authorization header, or not a Bearer one: 401', async () => {
    for (const value of [null, `Basic ${Buffer.from('admin:x').toString('base64')}`, 'Bearer', 'Bearer ']) {
      const res = await srv.request('GET', '/api/v2/keys', { headers: { Authorization: value } });
      assert.ok([400, 401].includes(res.status), `Authorization ${value}: ${desc(res)}`);
      expectError(res, res.status, res.status === 400 ? 'BEARER_SUB_EXTRACTION_ERR' : 'UNAUTHORIZED_ERR');
    }
  });

  test('tokens, revocations, policies and the audit chain survive a restart', async () => {
    const u = await userWith(srv, 'persistent', srv.instance, ['Writer']);
    const second = await createApiKey(srv, u.principal.id, 'to-revoke');
    const revokedToken = await tokenFor(srv, second.apikey);
    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/api_keys/${second.id}`), 204);
    const before = (await adminOk(srv, 'GET', '/admin/v1/audit?limit=1000', undefined, 200)).records;
    const last = before[before.length - 1];

    await srv.restart();

    expectStatus(await kp(srv, u.token).create({ name: 'after-restart' }), 201,
                 'a token issued before the restart');
    expectError(await kp(srv, revokedToken).list(), 401, 'UNAUTHORIZED_ERR');
    expectError(await tokenRequest(srv, { grant_type: GRANT, apikey: second.apikey }), 401, 'UNAUTHORIZED_ERR');
    expectStatus(await tokenRequest(srv, { grant_type: GRANT, apikey: u.apikey }), 200);
    const after = (await adminOk(srv, 'GET', `/admin/v1/audit?after=${last.seq}&limit=1000`, undefined, 200)).records;
    assert.ok(after.length >= 1, 'records after the restart');
    assert.equal(after[0].seq, last.seq + 1);
    assert.equal(after[0].prevHash, last.hash, 'the chain continues across the restart');
  });
});
