'use strict';
// IBM's official Key Protect Node SDK (@ibm-cloud/ibm-key-protect, unmodified)
// authenticating the way IBM Cloud users do: IamAuthenticator({apikey, url}).
// ibm-cloud-sdk-core's IamTokenManager POSTs
//   grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=…&response_type=cloud_iam
// (application/x-www-form-urlencoded, no client id/secret unless configured)
// to <url>/identity/token, decodes the access_token as a JWT (exp/iat drive
// its cache) and sends "Authorization: Bearer <access_token>". The server is
// plain HTTP, so no disableSslVerification is needed (docs/admin-api.md).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const KeyProtectV2 = require('@ibm-cloud/ibm-key-protect/ibm-key-protect-api/v2');
const { IamAuthenticator } = require('@ibm-cloud/ibm-key-protect/auth');
const { useServer } = require('../lib/server');
const { createRootKey } = require('../lib/kp');

const srv = useServer({ args: ['--test-clock'] });
const KEY_TYPE = 'application/vnd.ibm.kms.key+json';

async function admin(method, path, body, status) {
  const res = await srv.request(method, path, { body, json: true, headers: { 'Bluemix-Instance': null } });
  assert.equal(res.status, status, `${method} ${path}: ${res.status} ${res.text}`);
  return res.json;
}

// A user with `roles` on the default instance and an API key for it.
async function userWith(name, roles) {
  const p = await admin('POST', '/admin/v1/users', { name, admin: false }, 201);
  await admin('POST', '/admin/v1/policies',
              { principalId: p.id, instanceId: srv.instance, keyRingId: null, keyId: null, roles }, 201);
  const k = await admin('POST', '/admin/v1/api_keys', { principalId: p.id, name: 'sdk' }, 201);
  return { principal: p, apikey: k.apikey };
}

function client(apikey) {
  return new KeyProtectV2({
    authenticator: new IamAuthenticator({ apikey, url: srv.url }),
    serviceUrl: srv.url,
  });
}

function keyBody(fields) {
  return {
    metadata: { collectionType: KEY_TYPE, collectionTotal: 1 },
    resources: [{ type: KEY_TYPE, ...fields }],
  };
}

// 0.1.2 names the create body `body`, later versions `keyCreateBody`.
function createKey(kp, fields) {
  const body = keyBody(fields);
  return kp.createKey({ bluemixInstance: srv.instance, body, keyCreateBody: body,
                        prefer: 'return=representation' });
}

// Created once, on first use (a root-level before() may run before the
// harness's own start hook has finished).
let principals;
async function setup() {
  if (!principals) {
    principals = (async () => ({
      writer: await userWith('sdk-writer', ['Writer']),
      reader: await userWith('sdk-reader', ['Reader']),
    }))();
  }
  return principals;
}

test('IamAuthenticator against /identity/token: a Writer creates, lists, wraps and unwraps', async () => {
  const { writer } = await setup();
  const kp = client(writer.apikey);
  const created = await createKey(kp, { name: 'sdk-iam-root', extractable: false });
  assert.equal(created.status, 201);
  const key = created.result.resources[0];
  assert.equal(key.name, 'sdk-iam-root');
  assert.equal(key.extractable, false);
  assert.equal(key.createdBy, writer.principal.id, 'the key is created by the API key\'s principal');

  const list = await kp.getKeys({ bluemixInstance: srv.instance });
  assert.equal(list.status, 200);
  assert.ok(list.result.resources.some((k) => k.id === key.id), JSON.stringify(list.result));

  const w = await kp.wrapKey({ bluemixInstance: srv.instance, id: key.id, keyActionWrapBody: {} });
  assert.equal(w.status, 200);
  assert.equal(Buffer.from(w.result.plaintext, 'base64').length, 32);
  const u = await kp.unwrapKey({ bluemixInstance: srv.instance, id: key.id,
                                 keyActionUnwrapBody: { ciphertext: w.result.ciphertext } });
  assert.equal(u.status, 200);
  assert.equal(u.result.plaintext, w.result.plaintext);

  const dek = crypto.randomBytes(32).toString('base64');
  const w2 = await kp.wrapKey({ bluemixInstance: srv.instance, id: key.id,
                                keyActionWrapBody: { plaintext: dek, aad: ['sdk-iam'] } });
  const u2 = await kp.unwrapKey({ bluemixInstance: srv.instance, id: key.id,
                                  keyActionUnwrapBody: { ciphertext: w2.result.ciphertext, aad: ['sdk-iam'] } });
  assert.equal(u2.result.plaintext, dek);

  // The authenticator fetched a real token: an ES256 JWT for this principal.
  const token = kp.getAuthenticator().tokenManager.accessToken;
  const [h, p] = token.split('.').slice(0, 2).map((x) => JSON.parse(Buffer.from(x, 'base64url').toString()));
  assert.equal(h.alg, 'ES256');
  assert.equal(p.sub, writer.principal.id);
});

test('IamAuthenticator as a Reader: wrap works, create is refused with 403', async () => {
  const { reader } = await setup();
  const kp = client(reader.apikey);
  const list = await kp.getKeys({ bluemixInstance: srv.instance });
  assert.equal(list.status, 200);
  await assert.rejects(createKey(kp, { name: 'sdk-reader-key', extractable: false }), (err) => {
    assert.equal(err.status, 403, `status ${err.status} ${err.body}`);
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    assert.equal(body.metadata.collectionType, 'application/vnd.ibm.kms.error+json');
    assert.equal(body.resources[0].reasons[0].code, 'FORBIDDEN_ERR', err.body);
    return true;
  });
  const root = await createRootKey(srv, { name: 'sdk-admin-root' });
  const w = await kp.wrapKey({ bluemixInstance: srv.instance, id: root.id, keyActionWrapBody: {} });
  assert.equal(w.status, 200);
});

test('IamAuthenticator with a wrong API key: the SDK call fails with 401', async () => {
  const bogus = `kwk_${crypto.randomBytes(4).toString('hex')}_${crypto.randomBytes(32).toString('base64url')}`;
  const kp = client(bogus);
  await assert.rejects(kp.getKeys({ bluemixInstance: srv.instance }), (err) => {
    assert.equal(err.status, 401, `status ${err.status} ${err.message}`);
    return true;
  });
});
