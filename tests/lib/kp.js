'use strict';
// Key Protect wire helpers shared by the integration and crash tests:
// envelope builders, key creation, and the error-envelope assertion
// (keyprotect-api.md §1.3, §1.6, §17).

const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const KEY_TYPE = 'application/vnd.ibm.kms.key+json';
const ERROR_TYPE = 'application/vnd.ibm.kms.error+json';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function keyEnvelope(resources, { collectionTotal, collectionType = KEY_TYPE } = {}) {
  const list = Array.isArray(resources) ? resources : [resources];
  return {
    metadata: {
      collectionType,
      collectionTotal: collectionTotal === undefined ? list.length : collectionTotal,
    },
    resources: list,
  };
}

function keyResource(fields = {}) {
  return { type: KEY_TYPE, name: fields.name || `key-${crypto.randomBytes(4).toString('hex')}`,
           extractable: false, ...fields };
}

function b64(bytes) { return Buffer.from(bytes).toString('base64'); }
function randB64(n) { return crypto.randomBytes(n).toString('base64'); }

// Short description of a response for assertion messages.
function desc(res) {
  const body = res.text && res.text.length > 600 ? res.text.slice(0, 600) + '…' : res.text;
  return `HTTP ${res.status} ${body || '(empty body)'}`;
}

function expectStatus(res, status, what = '') {
  assert.equal(res.status, status, `${what ? what + ': ' : ''}expected ${status}, got ${desc(res)}`);
}

// Asserts the Key Protect error envelope with `status` and reason `code`
// (`code` may be an array of acceptable codes where the spec leaves it open,
// or null to check only the shape). `what` names the request in a failure.
function expectError(res, status, code, { msgIncludes, target, what } = {}) {
  expectStatus(res, status, what);
  const b = res.json;
  assert.ok(b && typeof b === 'object', `error body is not JSON: ${desc(res)}`);
  assert.ok(b.metadata, `error has no metadata: ${desc(res)}`);
  assert.equal(b.metadata.collectionType, ERROR_TYPE, desc(res));
  assert.equal(b.metadata.collectionTotal, 1, desc(res));
  assert.ok(Array.isArray(b.resources) && b.resources.length === 1, desc(res));
  const r = b.resources[0];
  assert.equal(typeof r.errorMsg, 'string', desc(res));
  assert.ok(r.errorMsg.length > 0, desc(res));
  assert.ok(Array.isArray(r.reasons) && r.reasons.length >= 1, `no reasons: ${desc(res)}`);
  if (Array.isArray(code)) {
    assert.ok(code.includes(r.reasons[0].code), `expected code in ${code.join('|')}: ${desc(res)}`);
  } else if (code) {
    assert.equal(r.reasons[0].code, code, desc(res));
  }
  assert.equal(r.reasons[0].status, status, desc(res));
  assert.equal(typeof r.reasons[0].message, 'string', desc(res));
  if (msgIncludes) {
    const all = `${r.errorMsg} ${r.reasons.map((x) => x.message).join(' ')}`;
    assert.ok(all.includes(msgIncludes), `expected message to include ${JSON.stringify(msgIncludes)}: ${desc(res)}`);
  }
  if (target) {
    assert.ok(r.reasons[0].target, `no target: ${desc(res)}`);
    assert.equal(r.reasons[0].target.name, target, desc(res));
  }
  return r;
}

// Creates a key and returns its resource (the response's resources[0]).
async function createKey(srv, fields = {}, { instance, prefer = 'return=representation', headers = {} } = {}) {
  const res = await srv.request('POST', '/api/v2/keys', {
    instance,
    headers: { 'Content-Type': KEY_TYPE, Prefer: prefer, ...headers },
    body: keyEnvelope(keyResource(fields)),
  });
  expectStatus(res, 201, 'create key');
  assert.ok(res.json && Array.isArray(res.json.resources) && res.json.resources.length === 1, desc(res));
  const key = res.json.resources[0];
  assert.match(key.id, UUID_RE, desc(res));
  return key;
}

const createRootKey = (srv, fields = {}, opts) => createKey(srv, { extractable: false, ...fields }, opts);
const createStandardKey = (srv, fields = {}, opts) => createKey(srv, { extractable: true, ...fields }, opts);

async function getMetadata(srv, id, opts = {}) {
  return srv.request('GET', `/api/v2/keys/${id}/metadata`, opts);
}

// Metadata resource of `id` (asserts 200).
async function metadataOf(srv, id, opts = {}) {
  const res = await getMetadata(srv, id, opts);
  expectStatus(res, 200, `metadata of ${id}`);
  return res.json.resources[0];
}

function action(srv, id, name, body, opts = {}) {
  return srv.request('POST', `/api/v2/keys/${id}/actions/${name}`, { body, ...opts });
}

async function wrap(srv, id, body = {}, opts = {}) {
  const res = await action(srv, id, 'wrap', body, opts);
  expectStatus(res, 200, 'wrap');
  return res.json;
}

async function unwrap(srv, id, body, opts = {}) {
  const res = await action(srv, id, 'unwrap', body, opts);
  expectStatus(res, 200, 'unwrap');
  return res.json;
}

module.exports = {
  KEY_TYPE, ERROR_TYPE, UUID_RE, RFC3339_RE,
  keyEnvelope, keyResource, b64, randB64, desc, expectStatus, expectError,
  createKey, createRootKey, createStandardKey, getMetadata, metadataOf, action, wrap, unwrap,
};

// ---------------------------------------------------------------- policies

const POLICY_TYPE = 'application/vnd.ibm.kms.policy+json';

// A policy collection (key or instance policies) of `resources`.
function policyEnvelope(resources, { collectionTotal } = {}) {
  const list = Array.isArray(resources) ? resources : [resources];
  return {
    metadata: { collectionType: POLICY_TYPE,
                collectionTotal: collectionTotal === undefined ? list.length : collectionTotal },
    resources: list,
  };
}

// One instance-policy resource.
function instancePolicy(type, enabled, attributes) {
  const policyData = { enabled };
  if (attributes !== undefined) policyData.attributes = attributes;
  return { policy_type: type, policy_data: policyData };
}

module.exports.POLICY_TYPE = POLICY_TYPE;
module.exports.policyEnvelope = policyEnvelope;
module.exports.instancePolicy = instancePolicy;
