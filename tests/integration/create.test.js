'use strict';
// POST /api/v2/keys: generated and imported root/standard keys, Prefer
// handling and field validation (keyprotect-api.md §3.1, §1.5, §6, §16, §17).

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useServer } = require('../lib/server');
const {
  KEY_TYPE, UUID_RE, RFC3339_RE, keyEnvelope, keyResource, randB64, desc, expectStatus,
  expectError, createKey, createRootKey, createStandardKey, metadataOf,
} = require('../lib/kp');

const srv = useServer();

function post(body, opts = {}) {
  return srv.request('POST', '/api/v2/keys', {
    headers: { 'Content-Type': KEY_TYPE, Prefer: 'return=representation', ...(opts.headers || {}) },
    ...opts.raw !== undefined ? { raw: opts.raw } : { body },
  });
}

// The field-validation code is not pinned by the spec: either is acceptable.
const FIELD_CODES = ['BAD_BODY_ERR', 'INVALID_FIELD_ERR'];

describe('create: generated keys', () => {
  test('root key: 201 with the key resource, version id = key id', async () => {
    const key = await createRootKey(srv, { name: 'root-generated', description: 'a root key' });
    assert.equal(key.type, KEY_TYPE);
    assert.equal(key.name, 'root-generated');
    assert.equal(key.description, 'a root key');
    assert.equal(key.state, 1);
    assert.equal(key.extractable, false);
    assert.equal(key.imported, false);
    assert.equal(key.payload, undefined, 'root key material must never be returned');
    assert.match(key.creationDate, RFC3339_RE);
    assert.ok(typeof key.crn === 'string' && key.crn.includes(srv.instance) && key.crn.endsWith(`:key:${key.id}`),
              `crn ${key.crn}`);
    assert.ok(key.keyVersion && key.keyVersion.id === key.id, `keyVersion ${JSON.stringify(key.keyVersion)}`);
  });

  test('standard key: 201, extractable, payload readable via GET /keys/{id}', async () => {
    const key = await createStandardKey(srv, { name: 'std-generated' });
    assert.equal(key.extractable, true);
    assert.equal(key.imported, false);
    const res = await srv.request('GET', `/api/v2/keys/${key.id}`);
    expectStatus(res, 200);
    const got = res.json.resources[0];
    assert.ok(typeof got.payload === 'string' && Buffer.from(got.payload, 'base64').length > 0, desc(res));
  });

  test('without Prefer: 201 with at least the id (compact representation)', async () => {
    const res = await post(keyEnvelope(keyResource({ name: 'no-prefer' })), { headers: { Prefer: null } });
    expectStatus(res, 201);
    assert.match(res.json.resources[0].id, UUID_RE);
  });

  test('Prefer: return=minimal: 201 with the id', async () => {
    const res = await post(keyEnvelope(keyResource({ name: 'minimal' })), { headers: { Prefer: 'return=minimal' } });
    expectStatus(res, 201);
    assert.match(res.json.resources[0].id, UUID_RE);
  });

  test('extractable omitted: standard key (Key Protect default)', async () => {
    const r = keyResource({ name: 'default-extractable' });
    delete r.extractable;
    const res = await post(keyEnvelope(r));
    expectStatus(res, 201);
    assert.equal(res.json.resources[0].extractable, true);
  });

  test('names need not be unique', async () => {
    const a = await createRootKey(srv, { name: 'same-name' });
    const b = await createRootKey(srv, { name: 'same-name' });
    assert.notEqual(a.id, b.id);
  });
});

describe('create: imported keys', () => {
  for (const n of [16, 24, 32]) {
    test(`root key with ${n}-byte material: imported, wraps`, async () => {
      const key = await createRootKey(srv, { name: `imported-${n}`, payload: randB64(n) });
      assert.equal(key.imported, true);
      assert.equal(key.extractable, false);
      assert.equal(key.payload, undefined);
      const res = await srv.request('POST', `/api/v2/keys/${key.id}/actions/wrap`, { body: {} });
      expectStatus(res, 200);
    });
  }

  for (const n of [0, 1, 15, 17, 31, 33, 64]) {
    test(`root key with ${n}-byte material: 400`, async () => {
      const res = await post(keyEnvelope(keyResource({ payload: Buffer.alloc(n, 7).toString('base64') })));
      if (n === 0) {
        // An empty payload may be read as "absent" (generate); anything else must fail.
        if (res.status === 201) return;
      }
      expectError(res, 400, FIELD_CODES);
    });
  }

  test('root key with invalid base64 material: 400', async () => {
    const res = await post(keyEnvelope(keyResource({ payload: 'not*base64!' })));
    expectError(res, 400, FIELD_CODES);
  });

  test('standard key payload round-trips through GET /keys/{id}', async () => {
    const payload = randB64(100);
    const key = await createStandardKey(srv, { name: 'std-imported', payload });
    assert.equal(key.imported, true);
    const res = await srv.request('GET', `/api/v2/keys/${key.id}`);
    expectStatus(res, 200);
    assert.equal(res.json.resources[0].payload, payload);
  });

  test('standard key payload of 7500 bytes accepted, 7501 rejected', async () => {
    const ok = randB64(7500);
    const key = await createStandardKey(srv, { payload: ok });
    const res = await srv.request('GET', `/api/v2/keys/${key.id}`);
    expectStatus(res, 200);
    assert.equal(res.json.resources[0].payload, ok);
    const bad = await post(keyEnvelope(keyResource({ extractable: true, payload: randB64(7501) })));
    expectError(bad, 400, FIELD_CODES);
  });
});

describe('create: field validation', () => {
  const cases = [
    ['name of 1 char', { name: 'a' }],
    ['name of 91 chars', { name: 'n'.repeat(91) }],
    ['name of wrong type', { name: 12345 }],
    ['description of 1 char', { description: 'd' }],
    ['description of 241 chars', { description: 'd'.repeat(241) }],
    ['31 tags', { tags: Array.from({ length: 31 }, (_, i) => `t${i}`) }],
    ['a tag of 31 chars', { tags: ['t'.repeat(31)] }],
    ...['<', '>', ',', ':', '&', '|'].map((c) => [`a tag containing ${c}`, { tags: [`bad${c}tag`] }]),
    ['tags not an array', { tags: 'tag' }],
    ['expirationDate not a date', { expirationDate: 'tomorrow' }],
    ['expirationDate without time', { expirationDate: '2030-01-01' }],
    ['expirationDate without zone', { expirationDate: '2030-01-01T00:00:00' }],
    ['extractable of wrong type', { extractable: 'yes' }],
  ];
  for (const [what, fields] of cases) {
    test(`${what}: 400`, async () => {
      const res = await post(keyEnvelope(keyResource(fields)));
      expectError(res, 400, FIELD_CODES);
    });
  }

  test('missing name: 400', async () => {
    const r = keyResource();
    delete r.name;
    expectError(await post(keyEnvelope(r)), 400, FIELD_CODES);
  });

  test('limits themselves are accepted: name 2 and 90, description 2 and 240, 30 tags of 30 chars', async () => {
    await createRootKey(srv, { name: 'ab' });
    await createRootKey(srv, { name: 'n'.repeat(90) });
    await createRootKey(srv, { description: 'dd' });
    const k = await createRootKey(srv, {
      description: 'd'.repeat(240),
      tags: Array.from({ length: 30 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(28)}`),
    });
    assert.equal(k.description, 'd'.repeat(240));
    const md = await metadataOf(srv, k.id);
    assert.equal(md.tags.length, 30);
  });

  test('expirationDate in RFC 3339 with offset and nanoseconds (Go client form) is accepted', async () => {
    const k = await createRootKey(srv, { expirationDate: '2040-01-02T03:04:05.123456789+02:00' });
    assert.match(k.expirationDate, RFC3339_RE);
    // Same instant (to the second): 03:04:05+02:00 is 01:04:05Z.
    assert.equal(Math.floor(Date.parse(k.expirationDate) / 1000), Date.parse('2040-01-02T01:04:05Z') / 1000);
  });

  test('more than one resource: 400 BAD_BODY_ERR', async () => {
    const res = await post(keyEnvelope([keyResource(), keyResource()]));
    expectError(res, 400, 'BAD_BODY_ERR');
  });

  test('collectionTotal not matching resources: 400 COLLECTION_TOTAL_MISMATCH_ERR', async () => {
    const res = await post(keyEnvelope([keyResource()], { collectionTotal: 2 }));
    expectError(res, 400, 'COLLECTION_TOTAL_MISMATCH_ERR');
  });

  test('no resources: 400', async () => {
    const res = await post({ metadata: { collectionType: KEY_TYPE, collectionTotal: 0 }, resources: [] });
    expectError(res, 400, ['BAD_BODY_ERR', 'COLLECTION_TOTAL_MISMATCH_ERR']);
  });

  test('empty metadata: 400 BAD_BODY_ERR', async () => {
    const res = await post({ metadata: {}, resources: [keyResource()] });
    expectError(res, 400, ['BAD_BODY_ERR', 'COLLECTION_TOTAL_MISMATCH_ERR']);
  });

  test('malformed JSON: 400 BAD_BODY_ERR', async () => {
    expectError(await post(undefined, { raw: '{"metadata": {' }), 400, 'BAD_BODY_ERR');
    expectError(await post(undefined, { raw: 'not json' }), 400, 'BAD_BODY_ERR');
  });

  test('resources of wrong type: 400 BAD_BODY_ERR', async () => {
    const res = await post({ metadata: { collectionType: KEY_TYPE, collectionTotal: 1 }, resources: 'x' });
    expectError(res, 400, 'BAD_BODY_ERR');
  });

  test('no body: 400', async () => {
    expectError(await post(undefined, { raw: '' }), 400, ['NO_BODY_ERR', 'BAD_BODY_ERR']);
  });
});

describe('create: content types and field-name case (Go client, §1.4, §19)', () => {
  for (const ct of [null, 'application/json', KEY_TYPE, 'application/vnd.ibm.kms.key_action+json', 'text/plain']) {
    test(`Content-Type ${ct === null ? '(none)' : ct} is parsed as JSON`, async () => {
      const res = await post(keyEnvelope(keyResource({ name: 'ctype' })), { headers: { 'Content-Type': ct } });
      expectStatus(res, 201);
    });
  }

  test('"Tags" (Go client spelling) is read as tags', async () => {
    const r = keyResource({ name: 'go-tags' });
    r.Tags = ['alpha', 'beta'];
    const res = await post(keyEnvelope(r));
    expectStatus(res, 201);
    const md = await metadataOf(srv, res.json.resources[0].id);
    assert.deepEqual(md.tags, ['alpha', 'beta']);
  });

  test('field names match case-insensitively ("Name", "Extractable", "Resources")', async () => {
    const body = {
      Metadata: { CollectionType: KEY_TYPE, CollectionTotal: 1 },
      Resources: [{ Type: KEY_TYPE, Name: 'mixed-case', Extractable: false }],
    };
    const res = await post(body);
    expectStatus(res, 201);
    assert.equal(res.json.resources[0].name, 'mixed-case');
    assert.equal(res.json.resources[0].extractable, false);
  });

  test('a key is created in the instance named by Bluemix-Instance only', async () => {
    const other = await srv.createInstance('other');
    const k = await createKey(srv, { name: 'in-other' }, { instance: other });
    const mine = await srv.request('GET', `/api/v2/keys/${k.id}/metadata`);
    expectError(mine, 404, 'NOT_FOUND_ERR');
  });
});
