'use strict';
// Import tokens and secure import (docs/api.md "Secure import",
// keyprotect-api.md §8): token limits and retrieval counting, expiry on the
// test clock, and the whole client procedure done with node's crypto, for
// create and for rotate, then wrap/unwrap with the imported key. Every
// POST /import_token makes an RSA-4096 key pair (about a second), so the
// tests share tokens where they can.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useServer } = require('../lib/server');
const {
  UUID_RE, RFC3339_RE, expectStatus, expectError, keyEnvelope, keyResource, metadataOf, action,
  wrap, unwrap, KEY_TYPE, randB64,
} = require('../lib/kp');
const { identities, auditRecords } = require('../lib/identity');
const { parseToken, secureImportFields, rsaOaep, gcmSeal } = require('../lib/import');

const srv = useServer({ args: ['--test-clock'] });

const postToken = (body, opts = {}) => srv.request('POST', '/api/v2/import_token', { body, json: true, ...opts });
const getToken = (opts = {}) => srv.request('GET', '/api/v2/import_token', opts);
const create = (fields, opts = {}) => srv.request('POST', '/api/v2/keys', {
  headers: { 'Content-Type': KEY_TYPE, Prefer: 'return=representation' },
  body: keyEnvelope(keyResource(fields)), ...opts,
});
const seconds = (a, b) => (Date.parse(b) - Date.parse(a)) / 1000;

async function newToken(instance, body = {}) {
  const res = await postToken(body, { instance });
  expectStatus(res, 200, 'POST /import_token');
  const got = await getToken({ instance });
  expectStatus(got, 200, 'GET /import_token');
  return { post: res.json, get: got.json, token: parseToken(got.json) };
}

describe('import tokens', () => {
  test('defaults: 600 s and 1 retrieval; GET counts it and shows the PEM public key and a 12-byte nonce', async () => {
    const instance = await srv.createInstance('token-defaults');
    const res = await srv.request('POST', '/api/v2/import_token', { instance });  // no body at all
    expectStatus(res, 200, 'POST without a body');
    const t = res.json;
    assert.equal(t.metadata, undefined, 'flat object, no envelope');
    assert.match(t.id, UUID_RE);
    assert.match(t.creationDate, RFC3339_RE);
    assert.match(t.expirationDate, RFC3339_RE);
    assert.equal(seconds(t.creationDate, t.expirationDate), 600);
    assert.equal(t.maxAllowedRetrievals, 1);
    assert.equal(t.remainingRetrievals, 1);

    const got = await getToken({ instance });
    expectStatus(got, 200);
    const g = got.json;
    assert.equal(g.id, t.id);
    assert.equal(g.creationDate, t.creationDate);
    assert.equal(g.expirationDate, t.expirationDate);
    assert.equal(g.maxAllowedRetrievals, 1);
    assert.equal(g.remainingRetrievals, 0);
    const pem = Buffer.from(g.payload, 'base64').toString('utf8');
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n?$/);
    const pub = crypto.createPublicKey(pem);
    assert.equal(pub.asymmetricKeyType, 'rsa');
    assert.equal(pub.asymmetricKeyDetails.modulusLength, 4096);
    assert.equal(Buffer.from(g.nonce, 'base64').length, 12);

    expectError(await getToken({ instance }), 409, 'IMPORT_TOKEN_EXPIRED_ERR');
    const audited = (await auditRecords(srv)).filter((r) => r.target === `instance:${instance}` && r.action.startsWith('kms.'));
    assert.deepEqual(audited.map((r) => r.action), ['kms.importtoken.create'], JSON.stringify(audited));
    assert.equal(audited[0].details, `token ${t.id}, expires ${t.expirationDate.replace(/\.\d+Z$/, 'Z')}, 1 retrievals`);
    assert.ok(!JSON.stringify(audited).includes(g.payload), 'no key material in the audit record');
  });

  test('limits: expiration 300–86400 s, maxAllowedRetrievals 1–500 (400 outside)', async () => {
    const instance = await srv.createInstance('token-limits');
    for (const body of [{ expiration: 299 }, { expiration: 86401 }, { expiration: -1 },
      { maxAllowedRetrievals: 0 }, { maxAllowedRetrievals: 501 }, { expiration: 'soon' }]) {
      expectError(await postToken(body, { instance }), 400, 'BAD_BODY_ERR', { what: JSON.stringify(body) });
    }
    expectStatus(await getToken({ instance }), 404, 'the refused POSTs made no token');

    // Lower bounds: counted down to 0, then 409.
    let res = await postToken({ expiration: 300, maxAllowedRetrievals: 3 }, { instance });
    expectStatus(res, 200);
    assert.equal(seconds(res.json.creationDate, res.json.expirationDate), 300);
    for (const left of [2, 1, 0]) {
      const g = await getToken({ instance });
      expectStatus(g, 200);
      assert.equal(g.json.remainingRetrievals, left);
      assert.equal(g.json.maxAllowedRetrievals, 3);
    }
    expectError(await getToken({ instance }), 409, 'IMPORT_TOKEN_EXPIRED_ERR');

    // Upper bounds; expiry on the test clock.
    res = await postToken({ expiration: 86400, maxAllowedRetrievals: 500 }, { instance });
    expectStatus(res, 200);
    assert.equal(seconds(res.json.creationDate, res.json.expirationDate), 86400);
    assert.equal(res.json.remainingRetrievals, 500);
    let g = await getToken({ instance });
    assert.equal(g.json.remainingRetrievals, 499);
    await srv.advanceClock(86400 - 10);
    g = await getToken({ instance });
    expectStatus(g, 200, 'still valid 10 s before expiry');
    assert.equal(g.json.remainingRetrievals, 498);
    await srv.advanceClock(11);
    expectError(await getToken({ instance }), 409, 'IMPORT_TOKEN_EXPIRED_ERR');
  });

  test('no token: GET → 404; a Reader gets 403, a Writer may create and retrieve', async () => {
    const ids = identities(srv);
    const instance = await srv.createInstance('token-roles');
    expectError(await getToken({ instance }), 404, 'NOT_FOUND_ERR');
    const reader = await ids.user('token-reader', ['Reader'], { instance });
    const writer = await ids.user('token-writer', ['Writer'], { instance });
    expectError(await reader.req('POST', '/import_token', { body: {} }), 403, 'FORBIDDEN_ERR');
    expectError(await reader.req('GET', '/import_token'), 403, 'FORBIDDEN_ERR');
    expectStatus(await writer.req('POST', '/import_token', { body: { maxAllowedRetrievals: 2 } }), 200, 'Writer POST');
    expectError(await reader.req('GET', '/import_token'), 403, 'FORBIDDEN_ERR');
    const g = await writer.req('GET', '/import_token');
    expectStatus(g, 200, 'Writer GET');
    assert.equal(g.json.remainingRetrievals, 1, 'the Reader\'s refused GETs counted nothing');
  });
});

describe('secure import', () => {
  let instance; let t;
  before(async () => {
    instance = await srv.createInstance('secure-import');
    t = await newToken(instance, { expiration: 3600, maxAllowedRetrievals: 1 });
  });

  test('create a root key from RSA-OAEP material and AES-GCM nonce; wrap/unwrap round-trips', async () => {
    for (const size of [16, 24, 32]) {
      const material = crypto.randomBytes(size);
      const res = await create({ name: `secure-${size}`, ...secureImportFields(t.token, material) }, { instance });
      expectStatus(res, 201, `secure import of ${size} bytes`);
      const key = res.json.resources[0];
      assert.equal(key.imported, true);
      assert.equal(key.extractable, false);
      assert.equal(key.state, 1);
      assert.equal(key.payload, undefined, 'root material is never returned');
      assert.equal(key.encryptedNonce, undefined);
      const dek = randB64(32);
      const w = await wrap(srv, key.id, { plaintext: dek, aad: ['import'] }, { instance });
      const u = await unwrap(srv, key.id, { ciphertext: w.ciphertext, aad: ['import'] }, { instance });
      assert.equal(u.plaintext, dek);
      const gen = await wrap(srv, key.id, {}, { instance });
      assert.equal((await unwrap(srv, key.id, { ciphertext: gen.ciphertext }, { instance })).plaintext, gen.plaintext);
    }
    // encryptionAlgorithm is optional; the token serves imports after its retrievals are spent.
    const fields = secureImportFields(t.token, crypto.randomBytes(32), { algorithm: null });
    expectStatus(await create({ name: 'secure-no-alg', ...fields }, { instance }), 201);
    expectError(await getToken({ instance }), 409, 'IMPORT_TOKEN_EXPIRED_ERR');
  });

  test('rotate a token-imported key with new material; old WDEKs still unwrap', async () => {
    const m1 = crypto.randomBytes(32);
    const res = await create({ name: 'secure-rotate', ...secureImportFields(t.token, m1) }, { instance });
    expectStatus(res, 201);
    const key = res.json.resources[0];
    const dek = randB64(32);
    const old = await wrap(srv, key.id, { plaintext: dek }, { instance });
    expectError(await action(srv, key.id, 'rotate', {}, { instance }), 400, 'KEY_PAYLOAD_REQ_ERR', { target: 'payload' });
    const rot = await action(srv, key.id, 'rotate', secureImportFields(t.token, crypto.randomBytes(32)),
                             { instance, headers: { 'Content-Type': 'application/vnd.ibm.kms.key_action_rotate+json' } });
    expectStatus(rot, 204, 'secure rotate');
    const md = await metadataOf(srv, key.id, { instance });
    assert.notEqual(md.keyVersion.id, key.id);
    assert.match(md.lastRotateDate, RFC3339_RE);
    const u = await unwrap(srv, key.id, { ciphertext: old.ciphertext }, { instance });
    assert.equal(u.plaintext, dek);
    assert.equal(u.keyVersion.id, key.id);
    assert.equal(u.rewrappedKeyVersion.id, md.keyVersion.id);
    const fresh = await wrap(srv, key.id, { plaintext: dek }, { instance });
    assert.equal(fresh.keyVersion.id, md.keyVersion.id);
    assert.equal((await unwrap(srv, key.id, { ciphertext: fresh.ciphertext }, { instance })).plaintext, dek);
    // A secure rotate with a bad nonce or IV is refused like a create.
    const other = await create({ name: 'secure-rotate-bad', ...secureImportFields(t.token, m1) }, { instance });
    expectStatus(other, 201);
    const id2 = other.json.resources[0].id;
    expectError(await action(srv, id2, 'rotate', secureImportFields(t.token, crypto.randomBytes(32),
      { nonce: crypto.randomBytes(12) }), { instance }), 400, 'INCORRECT_NONCE_ERR');
    expectError(await action(srv, id2, 'rotate', secureImportFields(t.token, crypto.randomBytes(32),
      { sentIv: crypto.randomBytes(12) }), { instance }), 400, 'INCORRECT_NONCE_IV_ERR');
    expectError(await action(srv, id2, 'rotate', secureImportFields(t.token, crypto.randomBytes(20)), { instance }),
                400, 'BAD_BODY_ERR');
    assert.equal((await metadataOf(srv, id2, { instance })).keyVersion.id, id2, 'no refused rotation made a version');
  });

  test('negatives: wrong nonce, wrong IV or material, SHA-1, half the fields, sizes, standard keys', async () => {
    const m = crypto.randomBytes(32);
    const expect400 = async (fields, code, what, extra = {}) =>
      expectError(await create({ name: 'bad-import', ...fields, ...extra }, { instance }), 400, code, { what });

    await expect400(secureImportFields(t.token, m, { nonce: crypto.randomBytes(12) }), 'INCORRECT_NONCE_ERR',
                    'another nonce');
    await expect400(secureImportFields(t.token, m, { sentIv: crypto.randomBytes(12) }), 'INCORRECT_NONCE_IV_ERR',
                    'another iv');
    const other = crypto.randomBytes(32);
    const iv = crypto.randomBytes(12);
    await expect400({ payload: rsaOaep(t.token.publicKey, m).toString('base64'),
                      encryptedNonce: gcmSeal(other, iv, t.token.nonce).toString('base64'),
                      iv: iv.toString('base64'), encryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
                    'INCORRECT_NONCE_IV_ERR', 'nonce sealed under other material');
    const tampered = secureImportFields(t.token, m);
    const tag = Buffer.from(tampered.encryptedNonce, 'base64');
    tag[tag.length - 1] ^= 1;
    await expect400({ ...tampered, encryptedNonce: tag.toString('base64') }, 'INCORRECT_NONCE_IV_ERR', 'bad tag');

    await expect400(secureImportFields(t.token, m, { algorithm: 'RSAES_OAEP_SHA_1' }), 'BAD_BODY_ERR', 'SHA-1 algorithm');
    await expect400(secureImportFields(t.token, m, { oaepHash: 'sha1' }), 'BAD_BODY_ERR', 'OAEP with SHA-1');
    await expect400(secureImportFields(t.token, m, { algorithm: 'AES_KW' }), 'BAD_BODY_ERR', 'unknown algorithm');
    const full = secureImportFields(t.token, m);
    await expect400({ payload: full.payload, encryptedNonce: full.encryptedNonce }, 'BAD_BODY_ERR', 'only the nonce');
    await expect400({ payload: full.payload, iv: full.iv }, 'BAD_BODY_ERR', 'only the iv');
    await expect400(secureImportFields(t.token, crypto.randomBytes(20)), 'BAD_BODY_ERR', '20-byte material');
    await expect400({ ...full, payload: randB64(512) }, 'BAD_BODY_ERR', 'payload not RSA-OAEP for this key');
    await expect400(full, 'BAD_BODY_ERR', 'standard key', { extractable: true });
    expectStatus(await create({ name: 'good-after-bad', ...full }, { instance }), 201, 'the good fields still import');
  });

  test('a payload for a replaced token → 400; an expired or missing token → 409 IMPORT_TOKEN_EXPIRED_ERR', async () => {
    const inst = await srv.createInstance('replaced-token');
    const first = await newToken(inst, { expiration: 600 });
    const m = crypto.randomBytes(32);
    const imported = await create({ name: 'before-replace', ...secureImportFields(first.token, m) }, { instance: inst });
    expectStatus(imported, 201);
    const second = await newToken(inst, { expiration: 600 });
    assert.notEqual(second.get.id, first.get.id);
    expectError(await create({ name: 'old-token', ...secureImportFields(first.token, m) }, { instance: inst }),
                400, 'BAD_BODY_ERR', { what: 'old public key and nonce' });
    expectError(await create({ name: 'old-key-new-nonce',
                              ...secureImportFields({ ...first.token, nonce: second.token.nonce }, m) }, { instance: inst }),
                400, 'BAD_BODY_ERR', { what: 'old public key, new nonce' });
    expectStatus(await create({ name: 'new-token', ...secureImportFields(second.token, m) }, { instance: inst }), 201);

    await srv.advanceClock(601);
    const key = imported.json.resources[0];
    expectError(await create({ name: 'expired', ...secureImportFields(second.token, m) }, { instance: inst }),
                409, 'IMPORT_TOKEN_EXPIRED_ERR');
    expectError(await action(srv, key.id, 'rotate', secureImportFields(second.token, crypto.randomBytes(32)),
                             { instance: inst }), 409, 'IMPORT_TOKEN_EXPIRED_ERR');
    expectError(await getToken({ instance: inst }), 409, 'IMPORT_TOKEN_EXPIRED_ERR');
    // Plain imports do not need a token.
    expectStatus(await create({ name: 'plain', payload: randB64(32) }, { instance: inst }), 201);

    const none = await srv.createInstance('no-token');
    expectError(await create({ name: 'no-token', ...secureImportFields(second.token, m) }, { instance: none }),
                409, 'IMPORT_TOKEN_EXPIRED_ERR');
  });
});
