'use strict';
// Registrations (docs/api.md "Registrations", keyprotect-api.md §11) and
// lifecycle events delivered by signed webhooks, acknowledged with
// POST /event_ack ("Lifecycle events", §12). Deliveries are asynchronous:
// the tests move the server's clock and then poll the receiver with a
// bounded deadline (lib/webhook.js), never sleep for a timer.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useServer } = require('../lib/server');
const {
  RFC3339_RE, UUID_RE, desc, expectStatus, expectError, createRootKey, createStandardKey, action, metadataOf,
} = require('../lib/kp');
const { identities, setWebhook, adminReq, auditRecords } = require('../lib/identity');
const { WebhookReceiver, verifySignature } = require('../lib/webhook');

const REG_INPUT = 'application/vnd.ibm.kms.registration_input+json';
const REG_TYPE = 'application/vnd.ibm.kms.registration+json';
const ACK_TYPE = 'application/vnd.ibm.kms.event_acknowledge+json';
const HOUR = 3600;

const crn = (res, inst = 'inst1') => `crn:v1:bluemix:public:cloud-object-storage:global:a/acc:${inst}:bucket:${res}`;
const enc = (s) => encodeURIComponent(s);
const regBody = (fields = {}) => ({ metadata: { collectionType: REG_INPUT, collectionTotal: 1 }, resources: [fields] });
const regPath = (keyId, resourceCrn, { double = false } = {}) =>
  `/keys/${keyId}/registrations/${double ? enc(enc(resourceCrn)) : enc(resourceCrn)}`;
const ackBody = (resources) => ({ metadata: { collectionType: ACK_TYPE, collectionTotal: resources.length }, resources });
const ack = (who, eventId, adopterKeyState = 'DEK_ENABLED', keyStateData) =>
  who.req('POST', '/event_ack', { body: ackBody([{ eventId, adopterKeyState, timestamp: new Date().toISOString(),
                                                   ...(keyStateData ? { keyStateData } : {}) }]) });
const register = async (who, keyId, resourceCrn, fields, opts) => {
  const res = await who.req('POST', regPath(keyId, resourceCrn, opts), fields === undefined ? {} : { body: regBody(fields) });
  expectStatus(res, 201, `register ${resourceCrn}`);
  return res;
};

// ---------------------------------------------------------------- registrations

describe('registrations', () => {
  const srv = useServer({ args: ['--test-clock'] });
  let ids; let svc; let other; let reader; let manager;
  before(async () => {
    ids = identities(srv);
    svc = await ids.service('cos-east');
    other = await ids.service('other-svc', { serviceType: 'databases' });
    reader = await ids.user('reg-reader', ['Reader']);
    manager = await ids.user('reg-manager', ['Manager']);
  });

  test('create: 201 + ETag; a retry with the same fields 201; different fields 409; CRN encoded once or twice', async () => {
    const key = await createRootKey(srv, { name: 'reg-create' });
    const fields = { description: 'bucket b1', registrationMetadata: 'meta-1', preventKeyDeletion: false };
    const res = await register(svc, key.id, crn('b1'), fields);
    assert.match(res.headers.get('etag') || '', /^(W\/)?"[^"]+"$/, 'ETag');
    assert.equal(res.json.metadata.collectionType, REG_TYPE);
    const r = res.json.resources[0];
    assert.equal(r.keyId, key.id);
    assert.equal(r.keyName, 'reg-create');
    assert.equal(r.resourceCrn, crn('b1'));
    assert.equal(r.createdBy, svc.id);
    assert.equal(r.updatedBy, svc.id);
    assert.match(r.creationDate, RFC3339_RE);
    assert.match(r.lastUpdated, RFC3339_RE);
    assert.equal(r.description, 'bucket b1');
    assert.equal(r.registrationMetadata, 'meta-1');
    assert.equal(r.preventKeyDeletion, false);
    assert.equal(r.keyVersion.id, key.id, 'defaults to the primary version');

    await register(svc, key.id, crn('b1'), fields);                      // retried create
    await register(svc, key.id, crn('b1'), fields, { double: true });     // double-encoded path
    expectError(await svc.req('POST', regPath(key.id, crn('b1')), { body: regBody({ ...fields, description: 'x' }) }),
                409, 'CONFLICT_ERR');
    const noBody = await register(svc, key.id, crn('b2'), undefined, { double: true });
    assert.equal(noBody.json.resources[0].resourceCrn, crn('b2'));
    const list = await svc.req('GET', `/keys/${key.id}/registrations`);
    assert.deepEqual(list.json.resources.map((x) => x.resourceCrn).sort(), [crn('b1'), crn('b2')]);
  });

  test('refusals: bad CRNs and fields (400), users (403 SERVICE_ONLY_ERR), key versions, states and types (422)', async () => {
    const key = await createRootKey(srv, { name: 'reg-refusals' });
    for (const bad of ['not-a-crn', 'crn:v1:a:b:c:d:e:f:g', 'crn:v1::public:cos:global:a/acc:inst1:bucket:b1',
      'crn:v1:bluemix:public:cos:global:a/acc:*:bucket:b1', 'crn:v1:bluemix:public:cos:global:a/acc:inst1:bucket:b*']) {
      expectError(await svc.req('POST', regPath(key.id, bad)), 400, 'BAD_BODY_ERR', { what: bad });
    }
    expectError(await svc.req('POST', regPath(key.id, crn('long')), { body: regBody({ description: 'd'.repeat(241) }) }),
                400, 'BAD_BODY_ERR');
    expectError(await svc.req('POST', regPath(key.id, crn('long')),
                              { body: regBody({ registrationMetadata: 'm'.repeat(4097) }) }), 400, 'BAD_BODY_ERR');
    await register(svc, key.id, crn('max'), { description: 'd'.repeat(240), registrationMetadata: 'm'.repeat(4096) });
    expectError(await svc.req('POST', regPath(key.id, crn('v')), { body: regBody({ keyVersionId: crypto.randomUUID() }) }),
                422, 'KEY_VERSION_INVALID');

    for (const who of [manager, reader]) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        expectError(await who.req(method, regPath(key.id, crn('max')), method === 'DELETE' ? {} : { body: regBody({}) }),
                    403, 'SERVICE_ONLY_ERR', { what: `${method} by a user` });
      }
    }
    expectError(await srv.request('POST', `/api/v2${regPath(key.id, crn('adm'))}`), 403, 'SERVICE_ONLY_ERR',
                { what: 'bootstrap administrator' });

    const disabled = await createRootKey(srv, { name: 'reg-disabled' });
    expectStatus(await action(srv, disabled.id, 'disable'), 204);
    expectError(await svc.req('POST', regPath(disabled.id, crn('d'))), 422, 'KEY_INVALID_STATE_ERR');
    const std = await createStandardKey(srv, { name: 'reg-standard' });
    expectError(await svc.req('POST', regPath(std.id, crn('s'))), 422, 'KEY_ROOT_REQ_REG_ERR');
  });

  test('PUT replaces and PATCH merges under If-Match (412 on a stale ETag); versions never go back', async () => {
    const key = await createRootKey(srv, { name: 'reg-update' });
    const created = await register(svc, key.id, crn('u1'), { description: 'first', registrationMetadata: 'm1' });
    const etag1 = created.headers.get('etag');
    const path = regPath(key.id, crn('u1'));

    let res = await svc.req('PATCH', path, { body: regBody({ description: 'patched' }), headers: { 'If-Match': etag1 } });
    expectStatus(res, 200, 'PATCH');
    assert.equal(res.json.resources[0].description, 'patched');
    assert.equal(res.json.resources[0].registrationMetadata, 'm1', 'PATCH keeps absent fields');
    const etag2 = res.headers.get('etag');
    assert.ok(etag2 && etag2 !== etag1, `a new ETag: ${etag1} → ${etag2}`);

    expectError(await svc.req('PUT', path, { body: regBody({ description: 'lost' }), headers: { 'If-Match': etag1 } }),
                412, 'PRECONDITION_FAILED_ERR', { what: 'stale ETag' });
    expectError(await svc.req('PATCH', path, { body: regBody({ description: 'lost' }), headers: { 'If-Match': '"nope"' } }),
                412, 'PRECONDITION_FAILED_ERR');
    res = await svc.req('PUT', path, { body: regBody({ description: 'replaced' }),
                                       headers: { 'If-Match': `"other", W/${etag2.replace(/^W\//, '')}` } });
    expectStatus(res, 200, 'PUT with a list holding the weak form of the current ETag');
    assert.equal(res.json.resources[0].description, 'replaced');
    assert.equal(res.json.resources[0].registrationMetadata, '', 'PUT resets absent fields');
    res = await svc.req('PATCH', path, { body: regBody({ preventKeyDeletion: true }), headers: { 'If-Match': '*' } });
    expectStatus(res, 200, 'If-Match: *');
    assert.equal(res.json.resources[0].preventKeyDeletion, true);
    assert.equal(res.json.resources[0].description, 'replaced');
    expectStatus(await svc.req('PATCH', path, { body: regBody({ preventKeyDeletion: false }) }), 200, 'no If-Match');

    expectStatus(await action(srv, key.id, 'rotate', {}), 204);
    const v2 = (await metadataOf(srv, key.id)).keyVersion.id;
    res = await svc.req('PATCH', path, { body: regBody({ keyVersionId: v2 }) });
    expectStatus(res, 200);
    assert.equal(res.json.resources[0].keyVersion.id, v2);
    expectError(await svc.req('PATCH', path, { body: regBody({ keyVersionId: key.id }) }), 422, 'KEY_VERSION_INVALID');
    expectError(await svc.req('PUT', regPath(key.id, crn('missing')), { body: regBody({}) }), 404, 'NOT_FOUND_ERR');
    const writes = (await auditRecords(srv))
      .filter((r) => r.target.endsWith(`/key:${key.id}`) && r.action === 'kms.registrations.write');
    assert.deepEqual(writes.map((r) => r.details),
                     [2, 3, 4, 5, 6].map((n) => `resource CRN ${crn('u1')}, revision ${n}`), 'one record per accepted write');
  });

  test('another service: 403 RESOURCE_OWNER_ERR; DELETE 204 or 200 with Prefer representation', async () => {
    const key = await createRootKey(srv, { name: 'reg-owner' });
    await register(svc, key.id, crn('o1'));
    await register(svc, key.id, crn('o2'));
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      expectError(await other.req(method, regPath(key.id, crn('o1')), method === 'DELETE' ? {} : { body: regBody({}) }),
                  403, 'RESOURCE_OWNER_ERR', { what: method });
    }
    const del = await svc.req('DELETE', regPath(key.id, crn('o1')));
    expectStatus(del, 204);
    assert.equal(del.text, '');
    const rep = await svc.req('DELETE', regPath(key.id, crn('o2'), { double: true }),
                              { headers: { Prefer: 'return=representation' } });
    expectStatus(rep, 200);
    assert.equal(rep.json.resources[0].resourceCrn, crn('o2'));
    expectError(await svc.req('DELETE', regPath(key.id, crn('o2'))), 404, 'NOT_FOUND_ERR');
    const audited = (await auditRecords(srv)).filter((r) => r.target.endsWith(`/key:${key.id}`));
    assert.deepEqual(audited.map((r) => [r.action, r.actor, r.details]), [
      ['kms.secrets.create', audited[0].actor, 'root key, generated, key ring default'],
      ['kms.registrations.create', svc.id, `resource CRN ${crn('o1')}`],
      ['kms.registrations.create', svc.id, `resource CRN ${crn('o2')}`],
      ['kms.registrations.delete', svc.id, `resource CRN ${crn('o1')}`],
      ['kms.registrations.delete', svc.id, `resource CRN ${crn('o2')}`],
    ], JSON.stringify(audited, null, 1));
  });

  test('listing: users see every registration without registrationMetadata; services their own; queries', async () => {
    const instance = await srv.createInstance('reg-list');
    const s1 = await ids.service('list-s1', { instance });
    const s2 = await ids.service('list-s2', { instance });
    const u = await ids.user('list-reader', ['Reader'], { instance });
    const k1 = await createRootKey(srv, { name: 'list-1' }, { instance });
    const k2 = await createRootKey(srv, { name: 'list-2' }, { instance });
    await register(s1, k1.id, crn('a1'), { registrationMetadata: 'secret-1', preventKeyDeletion: true });
    await register(s1, k1.id, crn('a2'));
    await register(s2, k1.id, crn('z1', 'inst2'), { registrationMetadata: 'secret-2' });
    await register(s1, k2.id, crn('a3'));

    let res = await u.req('GET', `/keys/${k1.id}/registrations?totalCount=true`);
    expectStatus(res, 200, 'user lists');
    assert.equal(res.json.metadata.collectionType, REG_TYPE);
    assert.equal(res.json.metadata.totalCount, 3);
    assert.ok(res.json.resources.every((r) => r.registrationMetadata === undefined), desc(res));
    res = await s1.req('GET', `/keys/${k1.id}/registrations`);
    assert.deepEqual(res.json.resources.map((r) => r.resourceCrn).sort(), [crn('a1'), crn('a2')]);
    assert.equal(res.json.resources.find((r) => r.resourceCrn === crn('a1')).registrationMetadata, 'secret-1');
    res = await s2.req('GET', '/keys/registrations');
    assert.deepEqual(res.json.resources.map((r) => r.resourceCrn), [crn('z1', 'inst2')]);

    res = await u.req('GET', '/keys/registrations?totalCount=true&limit=2&offset=1');
    expectStatus(res, 200);
    assert.equal(res.json.metadata.totalCount, 4);
    assert.equal(res.json.resources.length, 2);
    res = await u.req('GET', '/keys/registrations?preventKeyDeletion=true');
    assert.deepEqual(res.json.resources.map((r) => r.resourceCrn), [crn('a1')]);
    const query = async (path, qcrn) => {
      const r = await u.req('GET', `${path}?urlEncodedResourceCRNQuery=${enc(qcrn)}`);
      expectStatus(r, 200, `query ${qcrn}`);
      return r.json.resources.map((x) => x.resourceCrn).sort();
    };
    assert.deepEqual(await query('/keys/registrations', crn('a*')), [crn('a1'), crn('a2'), crn('a3')]);
    assert.deepEqual(await query('/keys/registrations', crn('*')), [crn('a1'), crn('a2'), crn('a3')]);
    assert.deepEqual(await query(`/keys/${k1.id}/registrations`,
                                 'crn:v1:bluemix:public:cloud-object-storage:global:a/acc:*:bucket:*'),
                     [crn('a1'), crn('a2'), crn('z1', 'inst2')]);
    const badAll = await u.req('GET', `/keys/registrations?urlEncodedResourceCRNQuery=${
      enc('crn:v1:bluemix:public:cloud-object-storage:global:a/acc:*:bucket:a1')}`);
    const r = expectError(badAll, 400, 'BAD_BODY_ERR', { what: '* in the first eight segments on /keys/registrations' });
    assert.equal(r.reasons[0].message.split('urlEncodedResourceCRNQuery` must be').length, 2,
                 `the field prefix once: ${r.reasons[0].message}`);
  });

  test('delete: 409 PROTECTED_RESOURCE_ERR; force deletes and keeps them; preventKeyDeletion → 409 PREV_KEY_DEL_ERR even with force', async () => {
    const key = await createRootKey(srv, { name: 'reg-protected' });
    await register(svc, key.id, crn('p1'));
    expectError(await srv.request('DELETE', `/api/v2/keys/${key.id}`), 409, 'PROTECTED_RESOURCE_ERR');
    expectStatus(await srv.request('DELETE', `/api/v2/keys/${key.id}?force=true`), 204, 'forced');
    // The registration stays with the deleted key until its service removes it.
    let res = await srv.request('GET', `/api/v2/keys/${key.id}/registrations`);
    assert.deepEqual((res.json.resources || []).map((r) => r.resourceCrn), [crn('p1')], desc(res));
    expectStatus(await svc.req('DELETE', `/keys/${key.id}/registrations/${encodeURIComponent(crn('p1'))}`), 204,
                 'the service removes it');
    res = await srv.request('GET', `/api/v2/keys/${key.id}/registrations`);
    assert.equal((res.json.resources || []).length, 0, desc(res));

    const kept = await createRootKey(srv, { name: 'reg-retained' });
    await register(svc, kept.id, crn('p2'));
    await register(svc, kept.id, crn('p3'), { preventKeyDeletion: true });
    expectError(await srv.request('DELETE', `/api/v2/keys/${kept.id}`), 409, 'PREV_KEY_DEL_ERR');
    expectError(await srv.request('DELETE', `/api/v2/keys/${kept.id}?force=true`), 409, 'PREV_KEY_DEL_ERR');
    assert.equal((await metadataOf(srv, kept.id)).state, 1);
    expectError(await svc.del(kept.id, '?force=true'), 403, 'RESOURCE_OWNER_ERR');
  });

  test('deprecated ?action=deactivate removes the listed registrations and answers them', async () => {
    const key = await createRootKey(srv, { name: 'reg-deactivate' });
    await register(svc, key.id, crn('x1'));
    await register(svc, key.id, crn('x2'));
    const res = await svc.req('POST', `/keys/${key.id}/registrations?action=deactivate`, {
      body: { metadata: { collectionType: 'application/vnd.ibm.kms.resource_crn+json', collectionTotal: 1 },
              resources: [{ resourceCrn: crn('x1') }] },
    });
    expectStatus(res, 200, 'deactivate');
    assert.deepEqual(res.json.resources.map((r) => r.resourceCrn), [crn('x1')]);
    const list = await svc.req('GET', `/keys/${key.id}/registrations`);
    assert.deepEqual(list.json.resources.map((r) => r.resourceCrn), [crn('x2')]);
    expectError(await manager.req('POST', `/keys/${key.id}/registrations?action=deactivate`, {
      body: { metadata: { collectionType: 'application/vnd.ibm.kms.resource_crn+json', collectionTotal: 1 },
              resources: [{ resourceCrn: crn('x2') }] },
    }), 403, 'SERVICE_ONLY_ERR');
  });
});

// ---------------------------------------------------------------- events

describe('lifecycle events', () => {
  const srv = useServer({ args: ['--test-clock'] });
  const rcv = new WebhookReceiver();
  let ids; let svc; let svcB; let secret; let secretB; let writer;
  before(async () => {
    await rcv.start();
    ids = identities(srv);
    svc = await ids.service('events-cos');
    svcB = await ids.service('events-db', { serviceType: 'databases' });
    writer = await ids.user('events-writer', ['Writer']);
    const wh = await setWebhook(srv, svc.id, { url: rcv.url });
    assert.equal(wh.serviceId, svc.id);
    assert.equal(wh.url, rcv.url);
    assert.ok(typeof wh.secret === 'string' && wh.secret.length >= 16, `generated secret: ${JSON.stringify(wh)}`);
    secret = wh.secret;
    secretB = 'db-service-webhook-secret-0123456789';
    const whB = await setWebhook(srv, svcB.id, { url: `${rcv.url}/b`, secret: secretB });
    assert.equal(whB.secret, undefined, 'a supplied secret is not echoed');
    const got = await adminReq(srv, 'GET', `/admin/v1/service_ids/${svc.id}/webhook`);
    expectStatus(got, 200);
    assert.equal(got.json.secret, undefined, 'GET never shows the secret');
  });
  after(() => rcv.stop());

  const forSvc = (r, who) => (who === svcB ? r.url.endsWith('/b') : !r.url.endsWith('/b'));
  const waitEvent = (keyId, type, who = svc, { n = 1, since = 0 } = {}) =>
    rcv.waitForEvents((e, r) => e.keyId === keyId && e.eventType === type && forSvc(r, who),
                      { n, since, what: `${n} ${type} event(s) of ${keyId}` });

  test('rotate, disable, enable, delete and restore each send one signed event per registered service', async () => {
    const key = await createRootKey(srv, { name: 'events-key' });
    await register(svc, key.id, crn('e1'));
    await register(svc, key.id, crn('e2'));
    await register(svcB, key.id, crn('e3', 'db1'));

    expectStatus(await action(srv, key.id, 'rotate', {}), 204);
    const [rot] = await waitEvent(key.id, 'rotate');
    const [rotB] = await waitEvent(key.id, 'rotate', svcB);
    verifySignature(rot, secret);
    verifySignature(rotB, secretB);
    assert.throws(() => verifySignature(rot, secretB), 'signed with each service\'s own secret');
    assert.equal(rot.method, 'POST');
    assert.match(rot.headers['content-type'], /^application\/json/);
    const e = rot.json;
    assert.match(e.eventId, UUID_RE);
    assert.equal(rot.headers['keywarden-event-id'], e.eventId);
    assert.equal(rot.headers['keywarden-event-type'], 'rotate');
    assert.equal(e.instanceId, srv.instance);
    assert.equal(e.keyCrn, key.crn);
    assert.equal(e.keyState, 1);
    const v2 = (await metadataOf(srv, key.id)).keyVersion.id;
    assert.deepEqual(e.keyVersion, { id: v2 });
    assert.deepEqual(e.previousKeyVersion, { id: key.id });
    assert.deepEqual([...e.resourceCrns].sort(), [crn('e1'), crn('e2')], 'one event with both resources');
    assert.deepEqual(rotB.json.resourceCrns, [crn('e3', 'db1')]);
    assert.equal(e.attempt, 1);
    assert.match(e.timestamp, RFC3339_RE);
    assert.equal((Date.parse(e.acknowledgeBy) - Date.parse(e.timestamp)) / 1000, 4 * HOUR);
    expectStatus(await ack(svc, e.eventId, 'DEK_ENABLED', { rewrappedKeyVersion: v2 }), 204);
    expectStatus(await ack(svcB, rotB.json.eventId, 'DEK_ENABLED', { keyVersion: v2 }), 204);

    expectStatus(await action(srv, key.id, 'disable'), 204);
    const [dis] = await waitEvent(key.id, 'disable');
    verifySignature(dis, secret);
    assert.equal(dis.json.keyState, 2);
    assert.deepEqual(dis.json.keyVersion, { id: v2 });
    assert.equal(dis.json.previousKeyVersion, undefined);
    expectStatus(await ack(svc, dis.json.eventId, 'DEK_DISABLED'), 204);

    await ids.advance(31);
    expectStatus(await action(srv, key.id, 'enable'), 204);
    const [en] = await waitEvent(key.id, 'enable');
    verifySignature(en, secret);
    assert.equal(en.json.keyState, 1);
    expectStatus(await ack(svc, en.json.eventId, 'DEK_ENABLED'), 204);

    expectStatus(await srv.request('DELETE', `/api/v2/keys/${key.id}?force=true`), 204);
    const [del] = await waitEvent(key.id, 'delete');
    const [delB] = await waitEvent(key.id, 'delete', svcB);
    verifySignature(del, secret);
    assert.equal(del.json.keyState, 5);
    assert.deepEqual([...del.json.resourceCrns].sort(), [crn('e1'), crn('e2')]);
    expectStatus(await ack(svc, del.json.eventId, 'DEK_DESTROYED'), 204);
    expectStatus(await ack(svcB, delB.json.eventId, 'DEK_DESTROYED'), 204);
    // The registrations stayed with the deleted key: the restore tells them.
    await ids.advance(31);
    expectStatus(await srv.request('POST', `/api/v2/keys/${key.id}/restore`), 201);
    const [res] = await waitEvent(key.id, 'restore');
    verifySignature(res, secret);
    assert.equal(res.json.keyState, 1);
    assert.deepEqual([...res.json.resourceCrns].sort(), [crn('e1'), crn('e2')]);
    expectStatus(await ack(svc, res.json.eventId, 'DEK_ENABLED'), 204);
    for (const type of ['rotate', 'disable', 'enable', 'delete', 'restore']) {
      assert.equal(rcv.events((x, r) => x.keyId === key.id && x.eventType === type && forSvc(r, svc)).length, 1,
                   `exactly one ${type} event`);
    }
  });

  test('a failed delivery is retried after the clock moves; an unacknowledged one is re-sent after 4 h', async () => {
    const key = await createRootKey(srv, { name: 'events-retry' });
    await register(svc, key.id, crn('r1'));
    rcv.failWith(500);
    const since = rcv.requests.length;
    expectStatus(await action(srv, key.id, 'disable'), 204);
    const [first] = await waitEvent(key.id, 'disable', svc, { since });
    assert.equal(first.answered, 500);
    assert.equal(first.json.attempt, 1);
    rcv.succeed();
    await ids.advance(2);
    const attempts = await waitEvent(key.id, 'disable', svc, { since, n: 2 });
    const retry = attempts[1];
    assert.equal(retry.json.eventId, first.json.eventId, 'the same event');
    assert.equal(retry.json.attempt, 2);
    assert.equal(retry.answered, 200);
    verifySignature(retry, secret);

    // Delivered but not acknowledged: sent again once ack_timeout (4 h) has passed.
    await ids.advance(4 * HOUR + 5);
    const again = await waitEvent(key.id, 'disable', svc, { since, n: 3 });
    assert.equal(again[2].json.eventId, first.json.eventId);
    assert.ok(again[2].json.attempt > 2, JSON.stringify(again[2].json));
    expectStatus(await ack(svc, first.json.eventId, 'DEK_DISABLED'), 204);
    expectStatus(await ack(svc, first.json.eventId, 'DEK_DISABLED'), 204, 'acknowledging twice is fine');

    // Acknowledged: no more re-sends. A later event for another key marks the point by which one would show.
    await ids.advance(4 * HOUR + 5);
    const marker = await createRootKey(srv, { name: 'events-marker' });
    await register(svc, marker.id, crn('m1'));
    expectStatus(await action(srv, marker.id, 'disable'), 204);
    await waitEvent(marker.id, 'disable', svc, { since });
    assert.equal(rcv.events((x) => x.eventId === first.json.eventId).length, 3,
                 'first attempt, retry, re-send; nothing after the acknowledgement');
  });

  test('event_ack: users 403, another service 404, unknown 404; DEK_ENABLED moves the registration\'s version', async () => {
    const key = await createRootKey(srv, { name: 'events-ack' });
    await register(svc, key.id, crn('k1'));
    await register(svc, key.id, crn('k2'));
    const since = rcv.requests.length;
    expectStatus(await action(srv, key.id, 'rotate', {}), 204);
    const [rot] = await waitEvent(key.id, 'rotate', svc, { since });
    const v2 = rot.json.keyVersion.id;
    expectError(await ack(writer, rot.json.eventId), 403, 'SERVICE_ONLY_ERR');
    expectError(await ack(svcB, rot.json.eventId, 'DEK_ENABLED', { rewrappedKeyVersion: v2 }), 404, 'NOT_FOUND_ERR');
    expectError(await ack(svc, crypto.randomUUID(), 'DEK_ENABLED', { rewrappedKeyVersion: v2 }), 404, 'NOT_FOUND_ERR');
    expectError(await ack(svc, rot.json.eventId, 'DEK_ENABLED'), 400, 'BAD_BODY_ERR', { what: 'rotation ack without a version' });
    expectError(await ack(svc, rot.json.eventId, 'DEK_MAYBE', { rewrappedKeyVersion: v2 }), 400, 'BAD_BODY_ERR');
    let regs = await svc.req('GET', `/keys/${key.id}/registrations`);
    assert.ok(regs.json.resources.every((r) => r.keyVersion.id === key.id), 'not moved by refused acks');
    expectStatus(await ack(svc, rot.json.eventId, 'DEK_ENABLED', { rewrappedKeyVersion: v2 }), 204);
    regs = await svc.req('GET', `/keys/${key.id}/registrations`);
    assert.deepEqual(regs.json.resources.map((r) => r.keyVersion.id), [v2, v2]);

    expectStatus(await action(srv, key.id, 'disable'), 204);
    const [dis] = await waitEvent(key.id, 'disable', svc, { since });
    expectStatus(await ack(svc, dis.json.eventId, 'DEK_DISABLED', { deleteRegistration: true }), 204);
    regs = await svc.req('GET', `/keys/${key.id}/registrations`);
    assert.equal((regs.json.resources || []).length, 0, `deleteRegistration removed them: ${desc(regs)}`);
  });

  test('sync: 409 REQ_TOO_EARLY_ERR within an hour of the last action, then a sync event', async () => {
    const key = await createRootKey(srv, { name: 'events-sync' });
    await register(svc, key.id, crn('s1'));
    expectStatus(await action(srv, key.id, 'rotate', {}), 204);
    expectError(await writer.act(key.id, 'sync'), 409, 'REQ_TOO_EARLY_ERR');
    expectError(await svc.act(key.id, 'sync'), 403, 'FORBIDDEN_ERR', { what: 'a Reader service' });
    await ids.advance(HOUR - 60);
    expectError(await writer.act(key.id, 'sync'), 409, 'REQ_TOO_EARLY_ERR', { what: 'a minute early' });
    await ids.advance(61);
    const since = rcv.requests.length;
    expectStatus(await writer.act(key.id, 'sync'), 204, 'sync after an hour');
    const [s] = await waitEvent(key.id, 'sync', svc, { since });
    verifySignature(s, secret);
    assert.equal(s.json.keyState, 1);
    assert.equal(s.json.keyVersion.id, (await metadataOf(srv, key.id)).keyVersion.id);
    assert.deepEqual(s.json.resourceCrns, [crn('s1')]);
    expectStatus(await ack(svc, s.json.eventId, 'DEK_ENABLED'), 204);
    expectError(await writer.act(key.id, 'sync'), 409, 'REQ_TOO_EARLY_ERR', { what: 'sync right after a sync' });
  });

  test('events wait while the service has no webhook', async () => {
    const key = await createRootKey(srv, { name: 'events-no-hook' });
    await register(svcB, key.id, crn('w1', 'db1'));
    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/service_ids/${svcB.id}/webhook`), 204);
    expectStatus(await adminReq(srv, 'GET', `/admin/v1/service_ids/${svcB.id}/webhook`), 404);
    expectStatus(await action(srv, key.id, 'disable'), 204);
    await setWebhook(srv, svcB.id, { url: `${rcv.url}/b`, secret: secretB });
    const [d] = await waitEvent(key.id, 'disable', svcB);
    verifySignature(d, secretB);
    expectStatus(await ack(svcB, d.json.eventId, 'DEK_DISABLED'), 204);
  });

  test('restart: an event that could not be delivered arrives after the server restarts', async () => {
    const key = await createRootKey(srv, { name: 'events-restart' });
    await register(svc, key.id, crn('z1'));
    await register(svcB, key.id, crn('z2', 'db1'));
    // svc's delivery fails (receiver down); svcB's waits for a webhook.
    expectStatus(await adminReq(srv, 'DELETE', `/admin/v1/service_ids/${svcB.id}/webhook`), 204);
    await rcv.stop();
    expectStatus(await action(srv, key.id, 'rotate', {}), 204);
    await srv.restart();
    await ids.refreshAll();
    await rcv.start();
    await setWebhook(srv, svcB.id, { url: `${rcv.url}/b`, secret: secretB });
    // Past the dispatch lease of the stopped process (2 × events.poll_interval).
    await ids.advance(61);
    const [e] = await waitEvent(key.id, 'rotate', svc);
    verifySignature(e, secret);
    assert.ok(e.json.attempt >= 2, `tried before the restart: attempt ${e.json.attempt}`);
    assert.equal(e.json.keyVersion.id, (await metadataOf(srv, key.id)).keyVersion.id);
    const [b] = await waitEvent(key.id, 'rotate', svcB);
    verifySignature(b, secretB);
    assert.notEqual(b.json.eventId, e.json.eventId, 'one event per service');
    expectStatus(await ack(svc, e.json.eventId, 'DEK_ENABLED', { rewrappedKeyVersion: e.json.keyVersion.id }), 204);
    expectStatus(await ack(svcB, b.json.eventId, 'DEK_ENABLED', { rewrappedKeyVersion: e.json.keyVersion.id }), 204);
  });

  test('a graceful restart hands event delivery over at once (no wait for the old process\'s lease)', async () => {
    const key = await createRootKey(srv, { name: 'events-handover' });
    await register(svc, key.id, crn('h1'));
    await rcv.stop();
    expectStatus(await action(srv, key.id, 'disable'), 204);
    await srv.restart();
    await ids.refreshAll();
    await rcv.start();
    await ids.advance(5);  // past the 1 s retry backoff, well inside a 60 s lease
    const [e] = await waitEvent(key.id, 'disable', svc);
    verifySignature(e, secret);
    expectStatus(await ack(svc, e.json.eventId, 'DEK_DISABLED'), 204);
  });
});
