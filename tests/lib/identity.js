'use strict';
// Identity helpers for the black-box tests: principals, API keys, access
// policies, service-to-service authorizations and webhooks through the admin
// API (docs/admin-api.md), and JWTs from POST /identity/token.
//
// Tokens live identity.token_lifetime (1 h) on the server's clock, and many
// tests move that clock by days: principals made through identities(srv)
// keep their API key and fetch a new token after every ids.advance(), so a
// test never trips over an expired token by accident.

const assert = require('node:assert/strict');
const { desc, expectStatus, keyEnvelope, keyResource, KEY_TYPE } = require('./kp');

const GRANT = 'urn:ibm:params:oauth:grant-type:apikey';

// Admin API call as the bootstrap administrator (or `token`); no
// Bluemix-Instance header.
function adminReq(srv, method, path, body, { token, headers } = {}) {
  return srv.request(method, path, {
    token, body, json: body !== undefined, headers: { 'Bluemix-Instance': null, ...headers },
  });
}

async function adminOk(srv, method, path, body, status, opts) {
  const res = await adminReq(srv, method, path, body, opts);
  expectStatus(res, status, `${method} ${path}`);
  return res.json;
}

const createUser = (srv, name, extra = {}) =>
  adminOk(srv, 'POST', '/admin/v1/users', { name, admin: false, ...extra }, 201);
const createServiceId = (srv, name, serviceType) =>
  adminOk(srv, 'POST', '/admin/v1/service_ids', { name, serviceType }, 201);
const createApiKey = (srv, principalId, name = 'ci') =>
  adminOk(srv, 'POST', '/admin/v1/api_keys', { principalId, name }, 201);
const createPolicy = (srv, principalId, instanceId, roles, { keyId = null, keyRingId = null } = {}) =>
  adminOk(srv, 'POST', '/admin/v1/policies', { principalId, instanceId, keyRingId, keyId, roles }, 201);
const createAuthorization = (srv, body) => adminOk(srv, 'POST', '/admin/v1/authorizations', body, 201);

// PUT /admin/v1/service_ids/{id}/webhook; answers the webhook (with
// `secret` when the server generated it).
const setWebhook = (srv, serviceId, body) =>
  adminOk(srv, 'PUT', `/admin/v1/service_ids/${serviceId}/webhook`, body, 200);

// Every audit record after `after` (GET /admin/v1/audit, all pages).
async function auditRecords(srv, after = 0) {
  const records = [];
  for (;;) {
    const page = await adminOk(srv, 'GET', `/admin/v1/audit?after=${after}&limit=1000`, undefined, 200);
    records.push(...page.records);
    if (page.records.length < 1000) return records;
    after = page.records[page.records.length - 1].seq;
  }
}

function tokenRequest(srv, form) {
  return srv.request('POST', '/identity/token', {
    headers: { Authorization: null, 'Bluemix-Instance': null,
               'Content-Type': 'application/x-www-form-urlencoded' },
    raw: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
  });
}

async function tokenFor(srv, apikey) {
  const res = await tokenRequest(srv, { grant_type: GRANT, apikey });
  expectStatus(res, 200, 'token');
  assert.equal(typeof res.json.access_token, 'string', desc(res));
  return res.json.access_token;
}

// A principal with an API key and a current token, and Key Protect calls in
// its name on `instance` (default: the harness's instance).
class Principal {
  constructor(srv, principal, apikey, instance) {
    this.srv = srv;
    this.principal = principal;
    this.id = principal.id;
    this.apikey = apikey;
    this.instance = instance;
    this.token = null;
  }

  async refresh() {
    this.token = await tokenFor(this.srv, this.apikey);
    return this.token;
  }

  // srv.request on /api/v2<path> with this principal's token.
  req(method, path, opts = {}) {
    return this.srv.request(method, `/api/v2${path}`, {
      token: this.token,
      instance: this.instance === undefined ? this.srv.instance : this.instance,
      ...opts,
    });
  }

  create(fields = {}, { headers = {}, path = '/keys' } = {}) {
    return this.req('POST', path, {
      headers: { 'Content-Type': KEY_TYPE, Prefer: 'return=representation', ...headers },
      body: keyEnvelope(keyResource(fields)),
    });
  }

  act(id, name, body, opts = {}) {
    return this.req('POST', `/keys/${id}/actions/${name}`, { body, ...opts });
  }

  del(id, qs = '', opts = {}) {
    return this.req('DELETE', `/keys/${id}${qs}`, opts);
  }
}

// Registry of the principals of one server: made here, refreshed together.
function identities(srv) {
  const all = new Set();
  async function make(principal, instance) {
    const key = await createApiKey(srv, principal.id);
    const p = new Principal(srv, principal, key.apikey, instance);
    await p.refresh();
    all.add(p);
    return p;
  }
  return {
    // A user holding `roles` (none if null) on `instance` (default: the
    // harness's), or on one key or ring of it (policyOpts).
    async user(name, roles, { instance, admin = false, ...policyOpts } = {}) {
      const inst = instance || srv.instance;
      const principal = await createUser(srv, name, { admin });
      if (roles) await createPolicy(srv, principal.id, inst, roles, policyOpts);
      return make(principal, inst);
    },
    // A service id with an authorization (`role`, default Reader) on
    // `instance`, optionally limited to a ring or key; `authorize: false`
    // makes one without.
    async service(name, { serviceType = 'object-storage', role = 'Reader', instance,
                          keyRingId, keyId, authorize = true } = {}) {
      const inst = instance || srv.instance;
      const principal = await createServiceId(srv, name, serviceType);
      let authorization = null;
      if (authorize) {
        const body = { sourceServiceId: principal.id, instanceId: inst, role };
        if (keyRingId) body.keyRingId = keyRingId;
        if (keyId) body.keyId = keyId;
        authorization = await createAuthorization(srv, body);
      }
      const p = await make(principal, inst);
      p.authorization = authorization;
      return p;
    },
    async refreshAll() {
      for (const p of all) await p.refresh();
    },
    // Moves the server's clock and gives every principal a new token.
    async advance(seconds) {
      const res = await srv.advanceClock(seconds);
      await this.refreshAll();
      return res;
    },
  };
}

module.exports = {
  GRANT, adminReq, adminOk, createUser, createServiceId, createApiKey, createPolicy,
  createAuthorization, setWebhook, auditRecords, tokenRequest, tokenFor, Principal, identities,
};
