'use strict';
// Key policies, POST /keys_with_policy_overrides, instance policies (the six
// types, the strict body, their effect on new keys, creation/import access,
// allowedIP / allowedNetwork enforcement, metrics) and automatic rotation:
// docs/api.md "Policies", keyprotect-api.md §7, §3.2, §15.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const { useServer } = require('../lib/server');
const {
  UUID_RE, RFC3339_RE, POLICY_TYPE, desc, expectStatus, expectError, createRootKey, createStandardKey, metadataOf,
  action, policyEnvelope, instancePolicy, keyEnvelope, keyResource, randB64, KEY_TYPE,
} = require('../lib/kp');
const { identities } = require('../lib/identity');
const { parseToken, secureImportFields } = require('../lib/import');

const DAY = 86400;
const rotation = (r) => ({ type: POLICY_TYPE, rotation: r });
const dualAuth = (enabled) => ({ type: POLICY_TYPE, dualAuthDelete: { enabled } });

function putKeyPolicy(srv, id, body, qs = '', opts = {}) {
  return srv.request('PUT', `/api/v2/keys/${id}/policies${qs}`, { body, ...opts });
}
function getKeyPolicy(srv, id, qs = '', opts = {}) {
  return srv.request('GET', `/api/v2/keys/${id}/policies${qs}`, opts);
}
function putInstance(srv, instance, body, qs = '', opts = {}) {
  return srv.request('PUT', `/api/v2/instance/policies${qs}`, { instance, body, ...opts });
}
function getInstance(srv, instance, qs = '', opts = {}) {
  return srv.request('GET', `/api/v2/instance/policies${qs}`, { instance, ...opts });
}
async function setInstance(srv, instance, resources, qs = '', opts = {}) {
  const res = await putInstance(srv, instance, policyEnvelope(resources), qs, opts);
  expectStatus(res, 204, `PUT /instance/policies${qs}`);
  assert.equal(res.text, '', 'PUT instance policies answers no body');
  return res;
}

// ---------------------------------------------------------------- key policies

describe('key policies', () => {
  const srv = useServer({ args: ['--test-clock'] });

  test('GET without policy: collectionTotal 0, no resources; PUT rotation: 200 with the stored policy', async () => {
    const key = await createRootKey(srv, { name: 'policy-root' });
    let res = await getKeyPolicy(srv, key.id);
    expectStatus(res, 200);
    assert.deepEqual(res.json.metadata, { collectionType: POLICY_TYPE, collectionTotal: 0 });
    assert.equal(res.json.resources, undefined, desc(res));

    res = await putKeyPolicy(srv, key.id, policyEnvelope(rotation({ enabled: true, interval_month: 3 })),
                             '?policy=rotation');
    expectStatus(res, 200, 'PUT rotation');
    assert.equal(res.json.metadata.collectionTotal, 1);
    const p = res.json.resources[0];
    assert.match(p.id, UUID_RE);
    assert.ok(p.crn.endsWith(`:policy:${p.id}`), p.crn);
    assert.ok(p.crn.includes(`:${srv.instance}:`), p.crn);
    for (const f of ['creationDate', 'lastUpdateDate']) assert.match(p[f], RFC3339_RE, f);
    assert.equal(p.createdBy, 'user-admin');
    assert.equal(p.updatedBy, 'user-admin');
    assert.equal(p.type, POLICY_TYPE);
    assert.deepEqual(p.rotation, { enabled: true, interval_month: 3 });
    assert.equal(p.dualAuthDelete, undefined);

    res = await getKeyPolicy(srv, key.id);
    assert.equal(res.json.metadata.collectionTotal, 1);
    assert.deepEqual(res.json.resources[0].rotation, { enabled: true, interval_month: 3 });
    res = await getKeyPolicy(srv, key.id, '?policy=rotation');
    assert.equal(res.json.resources.length, 1);
    res = await getKeyPolicy(srv, key.id, '?policy=dualAuthDelete');
    expectStatus(res, 200);
    assert.equal(res.json.metadata.collectionTotal, 0, desc(res));
    assert.equal(res.json.resources, undefined, desc(res));
    assert.deepEqual((await metadataOf(srv, key.id)).rotation, { enabled: true, interval_month: 3 });
  });

  test('omitted interval_month: the current one, else 1; both policies in one resource', async () => {
    const key = await createRootKey(srv, { name: 'interval-default' });
    let res = await putKeyPolicy(srv, key.id, policyEnvelope(rotation({ enabled: true })));
    expectStatus(res, 200);
    assert.deepEqual(res.json.resources[0].rotation, { enabled: true, interval_month: 1 });
    expectStatus(await putKeyPolicy(srv, key.id, policyEnvelope(rotation({ enabled: true, interval_month: 6 }))), 200);
    res = await putKeyPolicy(srv, key.id, policyEnvelope(rotation({ enabled: false })), '?policy=rotation');
    expectStatus(res, 200);
    assert.deepEqual(res.json.resources[0].rotation, { enabled: false, interval_month: 6 });

    const both = await createRootKey(srv, { name: 'both-policies' });
    res = await putKeyPolicy(srv, both.id, policyEnvelope({
      type: POLICY_TYPE, rotation: { enabled: true, interval_month: 2 }, dualAuthDelete: { enabled: true },
    }));
    expectStatus(res, 200, 'both in one resource');
    assert.equal(res.json.metadata.collectionTotal, 2, desc(res));
    const byKind = Object.fromEntries(res.json.resources.map((r) => [r.rotation ? 'rotation' : 'dual', r]));
    assert.deepEqual(byKind.rotation.rotation, { enabled: true, interval_month: 2 });
    assert.deepEqual(byKind.dual.dualAuthDelete, { enabled: true });
    assert.notEqual(byKind.rotation.id, byKind.dual.id);
    const md = await metadataOf(srv, both.id);
    assert.deepEqual(md.rotation, { enabled: true, interval_month: 2 });
    assert.equal(md.dualAuthDelete.enabled, true);
    assert.equal(md.dualAuthDelete.keySetForDeletion, false);
  });

  test('?policy= must match the body: 400 BODY_QUERY_PARAM_MISMATCH_ERR', async () => {
    const key = await createRootKey(srv, { name: 'mismatch' });
    expectError(await putKeyPolicy(srv, key.id, policyEnvelope(dualAuth(true)), '?policy=rotation'),
                400, 'BODY_QUERY_PARAM_MISMATCH_ERR');
    expectError(await putKeyPolicy(srv, key.id, policyEnvelope(rotation({ enabled: true, interval_month: 1 })),
                                   '?policy=dualAuthDelete'), 400, 'BODY_QUERY_PARAM_MISMATCH_ERR');
    assert.equal((await getKeyPolicy(srv, key.id)).json.metadata.collectionTotal, 0, 'nothing was stored');
  });

  test('interval_month outside 1–12 (Go sends -1 for 0) → 400', async () => {
    const key = await createRootKey(srv, { name: 'bad-interval' });
    for (const n of [-1, 0, 13]) {
      expectError(await putKeyPolicy(srv, key.id, policyEnvelope(rotation({ enabled: true, interval_month: n }))),
                  400, 'BAD_BODY_ERR', { msgIncludes: 'interval_month', what: `interval ${n}` });
    }
    // The Go client's legacy SetPolicy(…, 0) drops the interval (omitempty):
    // an empty rotation object says nothing and is refused.
    expectError(await putKeyPolicy(srv, key.id, policyEnvelope(rotation({}))), 400, 'BAD_BODY_ERR',
                { what: 'rotation {}' });
    assert.equal((await getKeyPolicy(srv, key.id)).json.metadata.collectionTotal, 0);
  });

  test('rotation: standard key → 400 KEY_ROOT_REQ_ERR; imported root key → 400 BAD_BODY_ERR', async () => {
    const std = await createStandardKey(srv, { name: 'std-policy' });
    expectError(await putKeyPolicy(srv, std.id, policyEnvelope(rotation({ enabled: true, interval_month: 1 }))),
                400, 'KEY_ROOT_REQ_ERR');
    const imported = await createRootKey(srv, { name: 'imported-policy', payload: randB64(32) });
    expectError(await putKeyPolicy(srv, imported.id, policyEnvelope(rotation({ enabled: true, interval_month: 1 }))),
                400, 'BAD_BODY_ERR');
  });

  test('dualAuthDelete cannot be disabled once enabled: 409 CONFLICT_ERR; re-enabling is fine', async () => {
    const key = await createRootKey(srv, { name: 'dual-irreversible' });
    expectStatus(await putKeyPolicy(srv, key.id, policyEnvelope(dualAuth(false)), '?policy=dualAuthDelete'), 200);
    assert.deepEqual((await metadataOf(srv, key.id)).dualAuthDelete, { enabled: false });
    expectStatus(await putKeyPolicy(srv, key.id, policyEnvelope(dualAuth(true)), '?policy=dualAuthDelete'), 200);
    expectError(await putKeyPolicy(srv, key.id, policyEnvelope(dualAuth(false)), '?policy=dualAuthDelete'),
                409, 'CONFLICT_ERR');
    expectStatus(await putKeyPolicy(srv, key.id, policyEnvelope(dualAuth(true))), 200, 're-enable');
    const md = await metadataOf(srv, key.id);
    assert.deepEqual(md.dualAuthDelete, { enabled: true, keySetForDeletion: false });
  });

  test('a Destroyed key\'s policies do not change: 409 KEY_ACTION_INVALID_STATE_ERR', async () => {
    const key = await createRootKey(srv, { name: 'destroyed-policy' });
    expectStatus(await srv.request('DELETE', `/api/v2/keys/${key.id}`), 204);
    expectError(await putKeyPolicy(srv, key.id, policyEnvelope(rotation({ enabled: true, interval_month: 2 }))),
                409, 'KEY_ACTION_INVALID_STATE_ERR');
  });

  test('Go client: no Content-Type, capitalised field names; a null body is refused', async () => {
    const key = await createRootKey(srv, { name: 'go-policy' });
    const raw = JSON.stringify({
      Metadata: { CollectionType: POLICY_TYPE, CollectionTotal: 1 },
      Resources: [{ Type: POLICY_TYPE, Rotation: { Enabled: true, Interval_Month: 4 } }],
    });
    const res = await srv.request('PUT', `/api/v2/keys/${key.id}/policies?policy=rotation`,
                                  { raw, headers: { Accept: 'application/json' } });
    expectStatus(res, 200, 'Go-style policy body');
    assert.deepEqual(res.json.resources[0].rotation, { enabled: true, interval_month: 4 });
    const vendor = await putKeyPolicy(srv, key.id, policyEnvelope(dualAuth(true)), '',
                                      { headers: { 'Content-Type': 'application/vnd.ibm.kms.policy+json' } });
    expectStatus(vendor, 200, 'vendor content type');
    expectError(await srv.request('PUT', `/api/v2/keys/${key.id}/policies`, { raw: 'null' }), 400, 'BAD_BODY_ERR');

    // The strict instance-policy body still matches names in any case (as Go's decoder does).
    const instance = await srv.createInstance('go-instance');
    expectStatus(await srv.request('PUT', '/api/v2/instance/policies', { instance, raw: JSON.stringify({
      Metadata: { CollectionType: POLICY_TYPE, CollectionTotal: 1 },
      Resources: [{ Policy_Type: 'rotation', Policy_Data: { Enabled: true, Attributes: { Interval_Month: 2 } } }],
    }) }), 204, 'capitalised instance policy');
    const inst = await getInstance(srv, instance, '?policy=rotation');
    assert.deepEqual(inst.json.resources[0].policy_data, { enabled: true, attributes: { interval_month: 2 } });
    const ovr = await srv.request('POST', '/api/v2/keys_with_policy_overrides', {
      headers: { Prefer: 'return=representation' },
      raw: JSON.stringify({ metadata: { collectionType: KEY_TYPE, collectionTotal: 1 },
                            resources: [{ type: KEY_TYPE, name: 'go-override', extractable: false,
                                          Rotation: { Enabled: true, Interval_Month: 4 }, DualAuthDelete: { Enabled: true } }] }),
    });
    expectStatus(ovr, 201, 'capitalised overrides');
    assert.deepEqual(ovr.json.resources[0].rotation, { enabled: true, interval_month: 4 });
    assert.equal(ovr.json.resources[0].dualAuthDelete.enabled, true);
  });

  test('key policies need Manager: a Writer and a Reader get 403', async () => {
    const ids = identities(srv);
    const writer = await ids.user('policy-writer', ['Writer']);
    const reader = await ids.user('policy-reader', ['Reader']);
    const manager = await ids.user('policy-manager', ['Manager']);
    const key = await createRootKey(srv, { name: 'roles-policy' });
    const body = policyEnvelope(rotation({ enabled: true, interval_month: 2 }));
    expectError(await writer.req('PUT', `/keys/${key.id}/policies`, { body }), 403, 'FORBIDDEN_ERR');
    expectError(await writer.req('GET', `/keys/${key.id}/policies`), 403, 'FORBIDDEN_ERR');
    expectError(await reader.req('GET', `/keys/${key.id}/policies`), 403, 'FORBIDDEN_ERR');
    const res = await manager.req('PUT', `/keys/${key.id}/policies`, { body });
    expectStatus(res, 200, 'Manager');
    assert.equal(res.json.resources[0].createdBy, manager.id);
  });
});

// ---------------------------------------------------------------- overrides

describe('POST /keys_with_policy_overrides', () => {
  const srv = useServer({ args: ['--test-clock'] });
  let ids; let writer; let manager;
  before(async () => {
    ids = identities(srv);
    writer = await ids.user('override-writer', ['Writer']);
    manager = await ids.user('override-manager', ['Manager']);
  });
  const path = '/keys_with_policy_overrides';

  test('a Writer creates without policies (201) but not with one (403)', async () => {
    const res = await writer.create({ name: 'plain-override' }, { path });
    expectStatus(res, 201, 'Writer, no policy');
    expectError(await writer.create({ name: 'w-rot', rotation: { enabled: true, interval_month: 2 } }, { path }),
                403, 'FORBIDDEN_ERR');
    expectError(await writer.create({ name: 'w-dual', dualAuthDelete: { enabled: true } }, { path }), 403, 'FORBIDDEN_ERR');
  });

  test('a Manager sets the key\'s own rotation and dualAuthDelete, instead of the instance\'s', async () => {
    await setInstance(srv, srv.instance, [instancePolicy('rotation', true, { interval_month: 5 })]);
    let res = await manager.create({ name: 'm-override', rotation: { enabled: true, interval_month: 2 },
                                     dualAuthDelete: { enabled: true } }, { path });
    expectStatus(res, 201, 'Manager with policies');
    let key = res.json.resources[0];
    assert.deepEqual(key.rotation, { enabled: true, interval_month: 2 }, desc(res));
    assert.equal(key.dualAuthDelete.enabled, true, desc(res));
    const md = await metadataOf(srv, key.id);
    assert.deepEqual(md.rotation, { enabled: true, interval_month: 2 });
    const pol = await getKeyPolicy(srv, key.id);
    assert.equal(pol.json.metadata.collectionTotal, 2, desc(pol));

    res = await manager.create({ name: 'm-no-rotation', rotation: { enabled: false } }, { path });
    expectStatus(res, 201);
    key = res.json.resources[0];
    assert.equal((await metadataOf(srv, key.id)).rotation.enabled, false, 'override disables the instance rotation');

    const plain = await createRootKey(srv, { name: 'instance-rotation' });
    assert.deepEqual((await metadataOf(srv, plain.id)).rotation, { enabled: true, interval_month: 5 });
    await setInstance(srv, srv.instance, [instancePolicy('rotation', false)], '?policy=rotation');
  });

  test('rotation override on a standard key → 400 KEY_ROOT_REQ_ERR; interval 13 → 400', async () => {
    expectError(await manager.create({ name: 'std-ovr', extractable: true,
                                       rotation: { enabled: true, interval_month: 1 } }, { path }),
                400, 'KEY_ROOT_REQ_ERR');
    expectError(await manager.create({ name: 'bad-ovr', rotation: { enabled: true, interval_month: 13 } }, { path }),
                400, 'BAD_BODY_ERR');
  });
});

// ---------------------------------------------------------------- instance policies

describe('instance policies: bodies and shapes', () => {
  const srv = useServer({ args: ['--test-clock'] });

  test('GET with none; PUT each type with ?policy= → 204; GET shapes with lastUpdated and policy_data', async () => {
    const instance = await srv.createInstance('six');
    let res = await getInstance(srv, instance);
    expectStatus(res, 200);
    assert.equal(res.json.metadata.collectionTotal, 0);
    assert.equal((res.json.resources || []).length, 0);

    const cases = [
      instancePolicy('dualAuthDelete', true),
      instancePolicy('rotation', true, { interval_month: 3 }),
      instancePolicy('allowedNetwork', true, { allowed_network: 'public-and-private' }),
      instancePolicy('allowedIP', true, { allowed_ip: ['127.0.0.0/8', '::1/128'] }),
      instancePolicy('keyCreateImportAccess', true, { create_standard_key: false }),
      instancePolicy('metrics', true),
    ];
    for (const p of cases) {
      await setInstance(srv, instance, [p], `?policy=${p.policy_type}`);
      res = await getInstance(srv, instance, `?policy=${p.policy_type}`);
      expectStatus(res, 200, `GET ${p.policy_type}`);
      assert.equal(res.json.metadata.collectionType, POLICY_TYPE);
      assert.equal(res.json.metadata.collectionTotal, 1, desc(res));
      const r = res.json.resources[0];
      assert.equal(r.policy_type, p.policy_type);
      assert.equal(r.policy_data.enabled, true);
      for (const f of ['creationDate', 'lastUpdated']) assert.match(r[f], RFC3339_RE, `${p.policy_type} ${f}`);
      assert.equal(r.createdBy, 'user-admin');
      assert.equal(r.updatedBy, 'user-admin');
      assert.equal(r.lastUpdateDate, undefined, 'instance policies say lastUpdated');
      if (p.policy_type === 'keyCreateImportAccess') {
        assert.deepEqual(r.policy_data.attributes, {
          create_root_key: true, create_standard_key: false, import_root_key: true,
          import_standard_key: true, enforce_token: false,
        }, 'omitted attributes take their defaults');
      } else if (p.policy_data.attributes) {
        assert.deepEqual(r.policy_data.attributes, p.policy_data.attributes, p.policy_type);
      } else {
        assert.ok(!r.policy_data.attributes || Object.keys(r.policy_data.attributes).length === 0, desc(res));
      }
    }
    res = await getInstance(srv, instance);
    assert.equal(res.json.metadata.collectionTotal, 6, desc(res));
    assert.deepEqual(res.json.resources.map((r) => r.policy_type).sort(),
                     cases.map((p) => p.policy_type).sort());

    // Disabling resets the attributes; all six in one PUT without ?policy=.
    await setInstance(srv, instance, [
      instancePolicy('dualAuthDelete', false), instancePolicy('rotation', false),
      instancePolicy('allowedNetwork', false, { allowed_network: 'public-and-private' }),
      instancePolicy('allowedIP', false), instancePolicy('keyCreateImportAccess', false),
      instancePolicy('metrics', false),
    ]);
    res = await getInstance(srv, instance, '?policy=rotation');
    assert.equal(res.json.resources[0].policy_data.enabled, false);
    assert.equal(res.json.resources[0].policy_data.attributes, undefined, desc(res));
  });

  test('strict body: unknown fields anywhere → 400 BAD_BODY_ERR json: unknown field', async () => {
    const instance = await srv.createInstance('strict');
    const bodies = [
      [{ ...policyEnvelope(instancePolicy('metrics', true)), extra: 1 }, 'extra'],
      [policyEnvelope({ ...instancePolicy('metrics', true), colour: 'red' }), 'colour'],
      [policyEnvelope({ policy_type: 'metrics', policy_data: { enabled: true, x: 1 } }), 'x'],
      [policyEnvelope(instancePolicy('rotation', true, { interval_month: 2, every: 3 })), 'every'],
      [policyEnvelope(instancePolicy('dualAuthDelete', true, {})), 'attributes'],
      [policyEnvelope(instancePolicy('metrics', true, { a: 1 })), 'attributes'],
    ];
    for (const [body, field] of bodies) {
      const res = await putInstance(srv, instance, body);
      expectError(res, 400, 'BAD_BODY_ERR', field ? { msgIncludes: `json: unknown field "${field}"` } : {});
    }
    assert.equal((await getInstance(srv, instance)).json.metadata.collectionTotal, 0);
  });

  test('collection rules: BODY_QUERY_PARAM_MISMATCH_ERR, NUM_COLLECTION_RESOURCE_ERR, COLLECTION_TOTAL_MISMATCH_ERR', async () => {
    const instance = await srv.createInstance('collection');
    const rot = instancePolicy('rotation', true, { interval_month: 2 });
    expectError(await putInstance(srv, instance, policyEnvelope(instancePolicy('metrics', true)), '?policy=rotation'),
                400, 'BODY_QUERY_PARAM_MISMATCH_ERR');
    expectError(await putInstance(srv, instance, policyEnvelope([rot, instancePolicy('metrics', true)]),
                                  '?policy=rotation'), 400, ['NUM_COLLECTION_RESOURCE_ERR', 'BODY_QUERY_PARAM_MISMATCH_ERR']);
    expectError(await putInstance(srv, instance, policyEnvelope([rot, rot]), '?policy=rotation'),
                400, 'NUM_COLLECTION_RESOURCE_ERR');
    expectError(await putInstance(srv, instance, policyEnvelope([rot, rot])), 400, 'NUM_COLLECTION_RESOURCE_ERR');
    expectError(await putInstance(srv, instance, policyEnvelope([rot], { collectionTotal: 2 })),
                400, 'COLLECTION_TOTAL_MISMATCH_ERR');
    expectError(await putInstance(srv, instance, policyEnvelope(instancePolicy('ipWhitelist2', true))), 400, 'BAD_BODY_ERR', { msgIncludes: 'policy_type' });
    assert.equal((await getInstance(srv, instance)).json.metadata.collectionTotal, 0);
  });

  test('attribute rules per type', async () => {
    const instance = await srv.createInstance('attrs');
    const bad = [
      instancePolicy('rotation', true),
      instancePolicy('rotation', true, { interval_month: 13 }),
      instancePolicy('rotation', true, { interval_month: 0 }),
      instancePolicy('rotation', false, { interval_month: 2 }),
      instancePolicy('allowedNetwork', true),
      instancePolicy('allowedNetwork', true, { allowed_network: 'everywhere' }),
      instancePolicy('allowedIP', true),
      instancePolicy('allowedIP', true, { allowed_ip: [] }),
      instancePolicy('allowedIP', true, { allowed_ip: ['10.0.0.1/8'] }),
      instancePolicy('allowedIP', true, { allowed_ip: ['not-an-ip'] }),
      instancePolicy('allowedIP', true, { allowed_ip: Array.from({ length: 1001 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`) }),
      instancePolicy('allowedIP', false, { allowed_ip: ['10.0.0.0/8'] }),
      instancePolicy('keyCreateImportAccess', false, { create_root_key: false }),
    ];
    for (const p of bad) {
      expectError(await putInstance(srv, instance, policyEnvelope(p)), 400, 'BAD_BODY_ERR', { what: JSON.stringify(p).slice(0, 120) });
    }
    await setInstance(srv, instance, [instancePolicy('allowedIP', true, {
      allowed_ip: Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`).concat([]),
    })], '?policy=allowedIP');
    await setInstance(srv, instance, [instancePolicy('allowedNetwork', false, { allowed_network: 'private-only' })]);
    await setInstance(srv, instance, [instancePolicy('allowedNetwork', false)]);
  });

  test('instance policies need Manager of the whole instance', async () => {
    const ids = identities(srv);
    const instance = await srv.createInstance('inst-roles');
    expectStatus(await srv.request('POST', '/api/v2/key_rings/ring-a', { instance }), 201);
    const writer = await ids.user('inst-writer', ['Writer'], { instance });
    const ringManager = await ids.user('inst-ring-mgr', ['Manager'], { instance, keyRingId: 'ring-a' });
    const manager = await ids.user('inst-mgr', ['Manager'], { instance });
    const body = policyEnvelope(instancePolicy('metrics', true));
    expectError(await writer.req('PUT', '/instance/policies', { body }), 403, 'FORBIDDEN_ERR');
    expectError(await ringManager.req('PUT', '/instance/policies', { body }), 403, 'FORBIDDEN_ERR');
    expectError(await ringManager.req('GET', '/instance/policies'), 403, 'FORBIDDEN_ERR');
    expectStatus(await manager.req('PUT', '/instance/policies', { body }), 204);
    const res = await manager.req('GET', '/instance/policies');
    expectStatus(res, 200);
    assert.equal(res.json.resources[0].createdBy, manager.id);
  });
});

describe('instance policies: effect on keys', () => {
  const srv = useServer({ args: ['--test-clock', '--metrics-listen', '127.0.0.1:0'] });

  test('rotation and dualAuthDelete are copied to keys created afterwards only', async () => {
    const instance = await srv.createInstance('copy');
    const before = await createRootKey(srv, { name: 'before' }, { instance });
    await setInstance(srv, instance, [instancePolicy('rotation', true, { interval_month: 2 }),
      instancePolicy('dualAuthDelete', true)]);
    const root = await createRootKey(srv, { name: 'after-root' }, { instance });
    const imported = await createRootKey(srv, { name: 'after-imported', payload: randB64(32) }, { instance });
    const std = await createStandardKey(srv, { name: 'after-std' }, { instance });

    const mdRoot = await metadataOf(srv, root.id, { instance });
    assert.deepEqual(mdRoot.rotation, { enabled: true, interval_month: 2 });
    assert.equal(mdRoot.dualAuthDelete.enabled, true);
    const pol = await getKeyPolicy(srv, root.id, '', { instance });
    assert.equal(pol.json.metadata.collectionTotal, 2, desc(pol));
    const mdImported = await metadataOf(srv, imported.id, { instance });
    assert.ok(!mdImported.rotation || mdImported.rotation.enabled === false, JSON.stringify(mdImported));
    assert.equal(mdImported.dualAuthDelete.enabled, true);
    const mdStd = await metadataOf(srv, std.id, { instance });
    assert.ok(!mdStd.rotation || mdStd.rotation.enabled === false, JSON.stringify(mdStd));
    assert.equal(mdStd.dualAuthDelete.enabled, true);
    const mdBefore = await metadataOf(srv, before.id, { instance });
    assert.equal(mdBefore.rotation, undefined);
    assert.equal(mdBefore.dualAuthDelete.enabled, false);

    await setInstance(srv, instance, [instancePolicy('rotation', false), instancePolicy('dualAuthDelete', false)]);
    const later = await createRootKey(srv, { name: 'later' }, { instance });
    const mdLater = await metadataOf(srv, later.id, { instance });
    assert.ok(!mdLater.rotation || mdLater.rotation.enabled === false);
    assert.equal(mdLater.dualAuthDelete.enabled, false);
    assert.deepEqual((await metadataOf(srv, root.id, { instance })).rotation, { enabled: true, interval_month: 2 },
                     'existing keys keep their copy');
  });

  test('keyCreateImportAccess: refused creations and imports are 409 KEY_CREATE_IMPORT_ACCESS_ERR', async () => {
    const instance = await srv.createInstance('access');
    const imported = await createRootKey(srv, { name: 'imp-before', payload: randB64(32) }, { instance });
    const create = (fields) => srv.request('POST', '/api/v2/keys', {
      instance, headers: { 'Content-Type': KEY_TYPE }, body: keyEnvelope(keyResource(fields)),
    });
    await setInstance(srv, instance, [instancePolicy('keyCreateImportAccess', true, {
      create_root_key: false, import_standard_key: false,
    })]);
    expectError(await create({ name: 'gen-root' }), 409, 'KEY_CREATE_IMPORT_ACCESS_ERR');
    expectError(await create({ name: 'imp-std', extractable: true, payload: randB64(40) }), 409,
                'KEY_CREATE_IMPORT_ACCESS_ERR');
    expectStatus(await create({ name: 'gen-std', extractable: true }), 201);
    expectStatus(await create({ name: 'imp-root', payload: randB64(32) }), 201);

    await setInstance(srv, instance, [instancePolicy('keyCreateImportAccess', true, {
      create_standard_key: false, import_root_key: false,
    })]);
    expectStatus(await create({ name: 'gen-root-2' }), 201, 'create_root_key back to its default');
    expectError(await create({ name: 'gen-std-2', extractable: true }), 409, 'KEY_CREATE_IMPORT_ACCESS_ERR');
    expectError(await create({ name: 'imp-root-2', payload: randB64(32) }), 409, 'KEY_CREATE_IMPORT_ACCESS_ERR');

    // enforce_token: material only through an import token, creates and rotations.
    await setInstance(srv, instance, [instancePolicy('keyCreateImportAccess', true, { enforce_token: true })]);
    expectError(await create({ name: 'plain-imp', payload: randB64(32) }), 409, 'KEY_CREATE_IMPORT_ACCESS_ERR');
    expectError(await action(srv, imported.id, 'rotate', { payload: randB64(32) }, { instance }), 409,
                'KEY_CREATE_IMPORT_ACCESS_ERR');
    expectStatus(await create({ name: 'gen-under-enforce' }), 201, 'generated keys are not imports');
    expectStatus(await srv.request('POST', '/api/v2/import_token', { instance, body: {} }), 200);
    const tok = await srv.request('GET', '/api/v2/import_token', { instance });
    expectStatus(tok, 200);
    const token = parseToken(tok.json);
    const material = require('node:crypto').randomBytes(32);
    expectStatus(await create({ name: 'token-imp', ...secureImportFields(token, material) }), 201,
                 'secure import under enforce_token');
    expectStatus(await action(srv, imported.id, 'rotate', secureImportFields(token, material), { instance }), 204,
                 'secure rotate under enforce_token');
    await setInstance(srv, instance, [instancePolicy('keyCreateImportAccess', false)]);
    expectStatus(await create({ name: 'plain-again', payload: randB64(32) }), 201);
  });

  test('metrics policy: keywarden_instance_requests_total counts the instance\'s requests', async () => {
    const instance = await srv.createInstance('metrics');
    const quiet = await srv.createInstance('quiet');
    await setInstance(srv, instance, [instancePolicy('metrics', true)], '?policy=metrics');
    await createRootKey(srv, { name: 'counted' }, { instance });
    await createRootKey(srv, { name: 'not-counted' }, { instance: quiet });
    expectStatus(await srv.request('GET', '/api/v2/keys', { instance }), 200);
    const m = await srv.metrics();  // the metrics listener: /metrics is not on the API port
    expectStatus(m, 200);
    const lines = m.text.split('\n').filter((l) => l.startsWith('keywarden_instance_requests_total{'));
    const mine = lines.filter((l) => l.includes(`instance="${instance}"`));
    assert.ok(mine.some((l) => /code="201"/.test(l) && / [1-9]\d*$/.test(l)), `create counted: ${lines.join('\n')}`);
    assert.ok(mine.some((l) => /code="200"/.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes(`instance="${quiet}"`)), 'an instance without the policy is not counted');
  });
});

// ---------------------------------------------------------------- network policies

describe('allowedIP enforcement (the only client address is 127.0.0.1)', () => {
  const srv = useServer({ args: ['--test-clock'] });

  test('127.0.0.0/8 works; 10.0.0.0/8 → 401 for a user; services and administrators pass; admin disables', async () => {
    const ids = identities(srv);
    const instance = await srv.createInstance('ip');
    const user = await ids.user('ip-user', ['Manager'], { instance });
    const svc = await ids.service('ip-svc', { instance });
    const key = await createRootKey(srv, { name: 'ip-key' }, { instance });

    let res = await user.req('GET', '/instance/allowed_ip_port');
    expectStatus(res, 200, 'no allowedIP policy');
    assert.equal((res.json.resources || []).length, 0, desc(res));

    res = await user.req('PUT', '/instance/policies?policy=allowedIP', {
      body: policyEnvelope(instancePolicy('allowedIP', true, { allowed_ip: ['127.0.0.0/8'] })),
    });
    expectStatus(res, 204, 'user allows loopback');
    expectStatus(await user.req('GET', '/keys'), 200, 'loopback allowed');
    res = await user.req('GET', '/instance/allowed_ip_port');
    expectStatus(res, 200);
    assert.equal(res.json.metadata.collectionType, 'application/vnd.ibm.kms.allowed_ip_metadata+json');
    assert.deepEqual(res.json.resources, [{ private_endpoint_port: Number(new URL(srv.url).port) }]);

    res = await user.req('PUT', '/instance/policies?policy=allowedIP', {
      body: policyEnvelope(instancePolicy('allowedIP', true, { allowed_ip: ['10.0.0.0/8', 'fd00::/8'] })),
    });
    expectStatus(res, 204, 'user locks itself out');
    expectError(await user.req('GET', '/keys'), 401, 'UNAUTHORIZED_ERR');
    expectError(await user.act(key.id, 'wrap', {}), 401, 'UNAUTHORIZED_ERR');
    expectError(await user.req('GET', '/instance/policies'), 401, 'UNAUTHORIZED_ERR');
    expectStatus(await svc.act(key.id, 'wrap', {}), 200, 'service-to-service call bypasses allowedIP');
    expectStatus(await srv.request('GET', '/api/v2/keys', { instance }), 200, 'administrator passes');
    expectStatus(await srv.request('GET', '/api/v2/keys'), 200, 'other instances unaffected');

    await setInstance(srv, instance, [instancePolicy('allowedIP', false)], '?policy=allowedIP');
    expectStatus(await user.req('GET', '/keys'), 200, 'after the administrator disabled it');
    res = await user.req('GET', '/instance/allowed_ip_port');
    assert.equal((res.json.resources || []).length, 0, desc(res));
  });
});

describe('allowedNetwork enforcement', () => {
  // Only 10.0.0.0/8 is private: the loopback client is public.
  const srv = useServer({ args: ['--test-clock'], env: { KEYWARDEN_PRIVATE_NETWORKS: '10.0.0.0/8' } });

  test('private-only → 401 for a public user; public-and-private works; services and administrators pass', async () => {
    const ids = identities(srv);
    const instance = await srv.createInstance('net');
    const user = await ids.user('net-user', ['Manager'], { instance });
    const svc = await ids.service('net-svc', { instance });
    const key = await createRootKey(srv, { name: 'net-key' }, { instance });

    await setInstance(srv, instance, [instancePolicy('allowedNetwork', true, { allowed_network: 'public-and-private' })]);
    expectStatus(await user.req('GET', '/keys'), 200);
    await setInstance(srv, instance, [instancePolicy('allowedNetwork', true, { allowed_network: 'private-only' })]);
    expectError(await user.req('GET', '/keys'), 401, 'UNAUTHORIZED_ERR');
    expectError(await user.act(key.id, 'wrap', {}), 401, 'UNAUTHORIZED_ERR');
    expectStatus(await svc.act(key.id, 'wrap', {}), 200, 'service passes');
    expectStatus(await srv.request('GET', '/api/v2/keys', { instance }), 200, 'administrator passes');
    await setInstance(srv, instance, [instancePolicy('allowedNetwork', false, { allowed_network: 'private-only' })]);
    expectStatus(await user.req('GET', '/keys'), 200, 'disabled again');
  });
});

describe('allowedNetwork with the default private networks (loopback is private)', () => {
  const srv = useServer({ args: ['--test-clock'] });
  test('private-only lets a loopback user in', async () => {
    const ids = identities(srv);
    const user = await ids.user('lo-user', ['Manager']);
    await setInstance(srv, srv.instance, [instancePolicy('allowedNetwork', true, { allowed_network: 'private-only' })]);
    expectStatus(await user.req('GET', '/keys'), 200);
  });
});

// ---------------------------------------------------------------- automatic rotation

describe('automatic rotation', () => {
  const srv = useServer({ args: ['--test-clock'] });

  test('interval 1: rotated 30 days after creation, then every 30 days; suspended and interval-2 keys wait', async () => {
    const monthly = await createRootKey(srv, { name: 'auto-1' });
    const bimonthly = await createRootKey(srv, { name: 'auto-2' });
    const suspended = await createRootKey(srv, { name: 'auto-suspended' });
    const none = await createRootKey(srv, { name: 'auto-none' });
    for (const [k, n] of [[monthly, 1], [bimonthly, 2], [suspended, 1]]) {
      expectStatus(await putKeyPolicy(srv, k.id, policyEnvelope(rotation({ enabled: true, interval_month: n }))), 200);
    }
    expectStatus(await action(srv, suspended.id, 'disable', undefined), 204);
    const versions = async (id) => {
      const res = await srv.request('GET', `/api/v2/keys/${id}/versions?allKeyStates=true`);
      expectStatus(res, 200);
      return res.json.resources.map((v) => v.id);
    };

    await srv.advanceClock(30 * DAY - 120);
    assert.deepEqual(await versions(monthly.id), [monthly.id], 'not due yet');
    await srv.advanceClock(120);
    const v = await versions(monthly.id);
    assert.equal(v.length, 2, `rotated when due: ${v}`);
    const md = await metadataOf(srv, monthly.id);
    assert.match(md.lastRotateDate, RFC3339_RE);
    assert.equal(md.keyVersion.id, v[0]);
    assert.ok(Date.parse(md.lastRotateDate) >= Date.parse(monthly.creationDate) + (30 * DAY - 60) * 1000,
              `lastRotateDate ${md.lastRotateDate} vs created ${monthly.creationDate}`);
    assert.deepEqual(await versions(bimonthly.id), [bimonthly.id]);
    assert.deepEqual(await versions(suspended.id), [suspended.id], 'Suspended keys do not rotate');
    assert.deepEqual(await versions(none.id), [none.id]);

    await srv.advanceClock(30 * DAY);
    assert.equal((await versions(monthly.id)).length, 3, 'and again 30 days later');
    assert.equal((await versions(bimonthly.id)).length, 2, 'interval 2: 60 days');
    assert.deepEqual(await versions(suspended.id), [suspended.id]);
  });
});
