'use strict';
// GET /keys/{id}, GET /keys/{id}/metadata, GET /keys (limit, offset, state,
// extractable, sort) and HEAD /keys with Key-Total (keyprotect-api.md §3.3, §3.4).

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useServer } = require('../lib/server');
const {
  KEY_TYPE, UUID_RE, RFC3339_RE, desc, expectStatus, expectError, createRootKey, createStandardKey, randB64,
} = require('../lib/kp');

const srv = useServer();

describe('get and metadata', () => {
  let root;
  let std;
  let stdPayload;
  before(async () => {
    root = await createRootKey(srv, { name: 'get-root', description: 'root for get', tags: ['t1'] });
    stdPayload = randB64(48);
    std = await createStandardKey(srv, { name: 'get-std', payload: stdPayload });
  });

  test('GET /keys/{id} of a standard key returns its payload', async () => {
    const res = await srv.request('GET', `/api/v2/keys/${std.id}`);
    expectStatus(res, 200);
    assert.equal(res.json.metadata.collectionType, KEY_TYPE);
    assert.equal(res.json.metadata.collectionTotal, 1);
    const k = res.json.resources[0];
    assert.equal(k.id, std.id);
    assert.equal(k.payload, stdPayload);
    assert.equal(k.extractable, true);
  });

  test('GET /keys/{id} of a root key never returns material', async () => {
    const res = await srv.request('GET', `/api/v2/keys/${root.id}`);
    expectStatus(res, 200);
    const k = res.json.resources[0];
    assert.equal(k.id, root.id);
    assert.equal(k.payload, undefined);
    assert.equal(k.name, 'get-root');
    assert.equal(k.description, 'root for get');
    assert.deepEqual(k.tags, ['t1']);
    assert.equal(k.keyVersion.id, root.id);
  });

  test('GET /keys/{id}/metadata never returns the payload', async () => {
    for (const key of [root, std]) {
      const res = await srv.request('GET', `/api/v2/keys/${key.id}/metadata`);
      expectStatus(res, 200);
      assert.equal(res.json.metadata.collectionType, KEY_TYPE);
      const k = res.json.resources[0];
      assert.equal(k.id, key.id);
      assert.equal(k.payload, undefined, desc(res));
      assert.equal(k.state, 1);
    }
  });

  test('field types are what the Go client can decode: RFC 3339 dates with a zone, numbers, booleans', async () => {
    const dateFields = ['creationDate', 'lastUpdateDate', 'lastRotateDate', 'deletionDate', 'expirationDate',
      'restoreExpirationDate', 'purgeAllowedFrom', 'purgeScheduledOn'];
    for (const key of [root, std]) {
      for (const p of [`/api/v2/keys/${key.id}`, `/api/v2/keys/${key.id}/metadata`]) {
        const res = await srv.request('GET', p);
        expectStatus(res, 200);
        const k = res.json.resources[0];
        for (const f of dateFields) {
          if (k[f] !== undefined && k[f] !== null) assert.match(k[f], RFC3339_RE, `${p} ${f}=${k[f]}`);
        }
        if (k.keyVersion) assert.match(k.keyVersion.creationDate, RFC3339_RE, `${p} keyVersion.creationDate`);
        assert.equal(typeof k.state, 'number');
        for (const f of ['extractable', 'imported', 'deleted']) {
          if (k[f] !== undefined) assert.equal(typeof k[f], 'boolean', `${p} ${f}`);
        }
        if (k.tags !== undefined) assert.ok(Array.isArray(k.tags));
        assert.match(res.headers.get('content-type') || '', /json/);
      }
    }
  });

  test('unknown key: 404 NOT_FOUND_ERR on get and metadata', async () => {
    const id = crypto.randomUUID();
    expectError(await srv.request('GET', `/api/v2/keys/${id}`), 404, 'NOT_FOUND_ERR');
    expectError(await srv.request('GET', `/api/v2/keys/${id}/metadata`), 404, 'NOT_FOUND_ERR');
  });
});

describe('list and HEAD', () => {
  const roots = [];
  const stds = [];
  const opts = {};
  before(async () => { opts.instance = await srv.createInstance('list'); });
  const TOTAL = 205;  // more than the default page of 200

  before(async () => {
    // 160 root keys and 45 standard keys, 16 requests at a time.
    const jobs = Array.from({ length: TOTAL }, (_, i) => i);
    while (jobs.length) {
      const batch = jobs.splice(0, 16);
      const made = await Promise.all(batch.map((i) => (i < 160
        ? createRootKey(srv, { name: `list-root-${i}` }, opts)
        : createStandardKey(srv, { name: `list-std-${i}` }, opts))));
      for (const k of made) (k.extractable ? stds : roots).push(k);
    }
  });

  const list = (qs = '') => srv.request('GET', `/api/v2/keys${qs}`, opts);

  test('default: limit 200, offset 0, sorted by id, no payloads', async () => {
    const res = await list();
    expectStatus(res, 200);
    assert.equal(res.json.metadata.collectionType, KEY_TYPE);
    assert.equal(res.json.resources.length, 200);
    assert.equal(res.json.metadata.collectionTotal, 200);
    const ids = res.json.resources.map((k) => k.id);
    const all = [...roots, ...stds].map((k) => k.id).sort();
    assert.deepEqual(ids, all.slice(0, 200));
    for (const k of res.json.resources) assert.equal(k.payload, undefined);
  });

  test('limit and offset page through every key exactly once', async () => {
    const seen = [];
    for (let offset = 0; offset < TOTAL + 10; offset += 50) {
      const res = await list(`?limit=50&offset=${offset}`);
      expectStatus(res, 200);
      assert.equal(res.json.metadata.collectionTotal, res.json.resources.length);
      seen.push(...res.json.resources.map((k) => k.id));
    }
    assert.equal(seen.length, TOTAL);
    assert.equal(new Set(seen).size, TOTAL);
    const rest = await list('?offset=200');
    expectStatus(rest, 200);
    assert.equal(rest.json.resources.length, TOTAL - 200);
  });

  test('limit 5000 accepted; limit 5001 rejected with 400', async () => {
    const ok = await list('?limit=5000');
    expectStatus(ok, 200);
    assert.equal(ok.json.resources.length, TOTAL);
    expectError(await list('?limit=5001'), 400, null);
  });

  test('limit or offset that is not a number: 400', async () => {
    expectError(await list('?limit=abc'), 400, null);
    expectError(await list('?offset=-1'), 400, null);
  });

  test('extractable=false lists root keys, extractable=true standard keys', async () => {
    const r = await list('?extractable=false&limit=5000');
    expectStatus(r, 200);
    assert.equal(r.json.resources.length, roots.length);
    assert.ok(r.json.resources.every((k) => k.extractable === false));
    const s = await list('?extractable=true&limit=5000');
    expectStatus(s, 200);
    assert.equal(s.json.resources.length, stds.length);
    assert.ok(s.json.resources.every((k) => k.extractable === true));
  });

  test('sort=-id sorts descending, sort=id ascending', async () => {
    const asc = await list('?sort=id&limit=5000');
    const dsc = await list('?sort=-id&limit=5000');
    expectStatus(asc, 200);
    expectStatus(dsc, 200);
    const a = asc.json.resources.map((k) => k.id);
    const d = dsc.json.resources.map((k) => k.id);
    assert.deepEqual(a, [...a].sort());
    assert.deepEqual(d, [...a].reverse());
  });

  test('sort by extractable then id', async () => {
    const res = await list('?sort=extractable,id&limit=5000');
    expectStatus(res, 200);
    const ks = res.json.resources;
    const firstStd = ks.findIndex((k) => k.extractable);
    assert.ok(ks.slice(0, firstStd).every((k) => !k.extractable));
    assert.ok(ks.slice(firstStd).every((k) => k.extractable));
  });

  test('sort by an unknown field: 400', async () => {
    expectError(await list('?sort=colour'), 400, null);
  });

  test('HEAD /keys: 200, Key-Total, no body; honours extractable and state', async () => {
    const res = await srv.request('HEAD', '/api/v2/keys', opts);
    expectStatus(res, 200);
    assert.equal(res.headers.get('key-total'), String(TOTAL));
    assert.equal(res.text, '');
    const r = await srv.request('HEAD', '/api/v2/keys?extractable=false', opts);
    assert.equal(r.headers.get('key-total'), String(roots.length));
    const none = await srv.request('HEAD', '/api/v2/keys?state=2', opts);
    assert.equal(none.headers.get('key-total'), '0');
  });

  test('state filter: default hides deleted keys; state=5 lists them; state=2 suspended; state=1,2', async () => {
    const victim = roots[0];
    const suspended = roots[1];
    let res = await srv.request('DELETE', `/api/v2/keys/${victim.id}`, opts);
    expectStatus(res, 204);
    res = await srv.request('POST', `/api/v2/keys/${suspended.id}/actions/disable`, opts);
    expectStatus(res, 204);

    const def = await list('?limit=5000');
    assert.equal(def.json.resources.length, TOTAL - 1);
    assert.ok(!def.json.resources.some((k) => k.id === victim.id));

    const del = await list('?state=5');
    expectStatus(del, 200);
    assert.deepEqual(del.json.resources.map((k) => [k.id, k.state]), [[victim.id, 5]]);

    const sus = await list('?state=2');
    assert.deepEqual(sus.json.resources.map((k) => [k.id, k.state]), [[suspended.id, 2]]);

    const both = await list('?state=1,2&limit=5000');
    assert.equal(both.json.resources.length, TOTAL - 1);

    const allStates = await list('?state=0,1,2,3,5&limit=5000');
    assert.equal(allStates.json.resources.length, TOTAL);

    const head = await srv.request('HEAD', '/api/v2/keys?state=5', opts);
    assert.equal(head.headers.get('key-total'), '1');
    const headDef = await srv.request('HEAD', '/api/v2/keys', opts);
    assert.equal(headDef.headers.get('key-total'), String(TOTAL - 1));
  });

  test('invalid state values: 400', async () => {
    expectError(await list('?state=4'), 400, null);
    expectError(await list('?state=active'), 400, null);
  });

  test('an empty instance lists nothing', async () => {
    const res = await srv.request('GET', '/api/v2/keys', { instance: await srv.createInstance('empty') });
    expectStatus(res, 200);
    assert.equal(res.json.metadata.collectionTotal, 0);
    assert.ok(!res.json.resources || res.json.resources.length === 0);
    for (const k of (res.json.resources || [])) assert.match(k.id, UUID_RE);
  });
});
