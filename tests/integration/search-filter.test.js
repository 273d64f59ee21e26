'use strict';
// GET /keys?search= and ?filter= (docs/api.md "Search and filter",
// keyprotect-api.md §3.3): the search grammar and its metadata, the filter
// grammar on dates / state / extractable, HEAD /keys with a filter, and the
// 5000-key search space (KEY_SEARCH_TOO_BROAD) with 5001 real keys.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const { useServer } = require('../lib/server');
const {
  desc, expectStatus, expectError, createRootKey, createStandardKey, createKey, action,
} = require('../lib/kp');

const DAY = 86400;

function list(srv, instance, query, opts = {}) {
  return srv.request('GET', `/api/v2/keys?${query}`, { instance, ...opts });
}
async function names(srv, instance, query, opts) {
  const res = await list(srv, instance, query, opts);
  expectStatus(res, 200, `GET /keys?${query}`);
  return (res.json.resources || []).map((k) => k.name).sort();
}
const q = (s) => encodeURIComponent(s);

describe('search', () => {
  const srv = useServer({ args: ['--test-clock'] });
  let instance; let A; let B; let F;
  before(async () => {
    instance = await srv.createInstance('search');
    const mk = (fields) => createKey(srv, { extractable: false, ...fields }, { instance });
    A = await mk({ name: 'Alpha-Prod', aliases: ['alpha-one'] });
    B = await mk({ name: 'alphabet', aliases: ['abc-key'] });
    await mk({ name: 'beta-prod', extractable: true });
    await mk({ name: 'not:x' });
    await mk({ name: 'ONE-more' });
    F = await mk({ name: `ref-${A.id}` });
  });
  const all = () => ['Alpha-Prod', 'alphabet', 'beta-prod', 'not:x', 'ONE-more', `ref-${A.id}`].sort();

  test('substring, ASCII case-insensitive, in names and aliases; metadata.searchQuery', async () => {
    assert.deepEqual(await names(srv, instance, 'search=ALPHA'), ['Alpha-Prod', 'alphabet']);
    assert.deepEqual(await names(srv, instance, 'search=one'), ['Alpha-Prod', 'ONE-more'], 'alias alpha-one, name ONE-more');
    assert.deepEqual(await names(srv, instance, 'search=prod'), ['Alpha-Prod', 'beta-prod']);
    assert.deepEqual(await names(srv, instance, 'search=zzz'), []);
    const res = await list(srv, instance, 'search=Alpha');
    expectStatus(res, 200);
    const sq = res.json.metadata.searchQuery;
    assert.ok(sq, desc(res));
    assert.equal(sq.query, 'Alpha');
    assert.deepEqual([...sq.scopes].sort(), ['alias', 'name']);
    assert.equal(sq.not, false);
    assert.equal(sq.exact, false);
    assert.equal(res.json.metadata.collectionTotal, 2);
    const plain = await list(srv, instance, 'limit=10');
    assert.equal(plain.json.metadata.searchQuery, undefined, 'no searchQuery without search');
  });

  test('the Go client\'s trailing comma is dropped', async () => {
    const res = await list(srv, instance, 'search=alpha%2C');
    expectStatus(res, 200);
    assert.deepEqual(res.json.resources.map((k) => k.name).sort(), ['Alpha-Prod', 'alphabet']);
    assert.equal(res.json.metadata.searchQuery.query, 'alpha');
  });

  test('not:, exact:, name:, alias:, in any order, and escape:', async () => {
    assert.deepEqual(await names(srv, instance, `search=${q('not:alpha')}`),
                     all().filter((n) => !/alpha/i.test(n)));
    assert.deepEqual(await names(srv, instance, `search=${q('exact:alpha-prod')}`), ['Alpha-Prod']);
    assert.deepEqual(await names(srv, instance, `search=${q('exact:alpha')}`), []);
    assert.deepEqual(await names(srv, instance, `search=${q('exact:ALPHA-ONE')}`), ['Alpha-Prod'], 'exact alias');
    assert.deepEqual(await names(srv, instance, `search=${q('name:exact:alpha-one')}`), []);
    assert.deepEqual(await names(srv, instance, `search=${q('name:one')}`), ['ONE-more']);
    assert.deepEqual(await names(srv, instance, `search=${q('alias:one')}`), ['Alpha-Prod']);
    assert.deepEqual(await names(srv, instance, `search=${q('name:alias:one')}`), ['Alpha-Prod', 'ONE-more']);
    const everyButA = all().filter((n) => n !== 'Alpha-Prod');
    assert.deepEqual(await names(srv, instance, `search=${q('not:exact:alpha-prod')}`), everyButA);
    assert.deepEqual(await names(srv, instance, `search=${q('exact:not:alpha-prod')}`), everyButA);

    const res = await list(srv, instance, `search=${q('not:exact:name:alpha-prod')}`);
    expectStatus(res, 200);
    assert.deepEqual(res.json.metadata.searchQuery, { query: 'alpha-prod', scopes: ['name'], not: true, exact: true });

    assert.deepEqual(await names(srv, instance, `search=${q('escape:not:x')}`), ['not:x'], 'escape: makes not: literal');
    const notX = await names(srv, instance, `search=${q('not:x')}`);
    assert.ok(!notX.includes('not:x') && notX.includes('Alpha-Prod'), JSON.stringify(notX));
    const esc = await list(srv, instance, `search=${q('exact:escape:not:x')}`);
    assert.deepEqual(esc.json.resources.map((k) => k.name), ['not:x']);
    assert.equal(esc.json.metadata.searchQuery.query, 'not:x');
    assert.equal(esc.json.metadata.searchQuery.exact, true);
  });

  test('a key id, or an alias-only search, looks the key up directly: listed first', async () => {
    let res = await list(srv, instance, `search=${A.id}`);
    expectStatus(res, 200);
    assert.deepEqual(res.json.resources.map((k) => k.id), [A.id, F.id], 'the key, then the name containing its id');
    res = await list(srv, instance, `search=${q('alias:abc-key')}`);
    expectStatus(res, 200);
    assert.equal(res.json.resources[0].id, B.id);
    assert.equal(res.json.resources.length, 1);
  });

  test('search combines with extractable, state and the key ring; HEAD with search → 400', async () => {
    assert.deepEqual(await names(srv, instance, 'search=prod&extractable=true'), ['beta-prod']);
    assert.deepEqual(await names(srv, instance, 'search=prod&extractable=false'), ['Alpha-Prod']);
    assert.deepEqual(await names(srv, instance, 'search=prod&state=5'), []);
    expectStatus(await srv.request('POST', '/api/v2/key_rings/search-ring', { instance }), 201);
    await createRootKey(srv, { name: 'ring-prod' }, { instance, headers: { 'X-Kms-Key-Ring': 'search-ring' } });
    assert.deepEqual(await names(srv, instance, 'search=prod', { headers: { 'X-Kms-Key-Ring': 'search-ring' } }),
                     ['ring-prod']);
    const head = await srv.request('HEAD', '/api/v2/keys?search=prod', { instance });
    assert.equal(head.status, 400, `HEAD with search: ${head.status}`);
  });
});

describe('filter', () => {
  const srv = useServer({ args: ['--test-clock'] });
  let instance; let T1; let T2; let T3; let T4; let k1; let k2; let k3; let k4;
  before(async () => {
    instance = await srv.createInstance('filter');
    k1 = await createRootKey(srv, { name: 'f-one' }, { instance });
    T1 = k1.creationDate;
    await srv.advanceClock(DAY);
    k2 = await createStandardKey(srv, { name: 'f-two' }, { instance });
    T2 = k2.creationDate;
    await srv.advanceClock(DAY);
    k3 = await createRootKey(srv, { name: 'f-three', expirationDate: '2099-01-01T00:00:00Z' }, { instance });
    T3 = k3.creationDate;
    expectStatus(await action(srv, k1.id, 'rotate', {}, { instance }), 204);
    await srv.advanceClock(DAY);
    k4 = await createRootKey(srv, { name: 'f-four' }, { instance });
    T4 = k4.creationDate;
    expectStatus(await srv.request('DELETE', `/api/v2/keys/${k4.id}`, { instance }), 204);
  });
  const f = (s) => names(srv, instance, `filter=${q(s)}`);

  test('creation dates with lt / lte / gt / gte, up to 3 clauses, compared at whole seconds', async () => {
    assert.deepEqual(await f(`creationDate=gt:"${T1}"`), ['f-three', 'f-two']);
    assert.deepEqual(await f(`creationDate=gte:"${T1}"`), ['f-one', 'f-three', 'f-two']);
    assert.deepEqual(await f(`creationDate=lte:"${T2}"`), ['f-one', 'f-two']);
    assert.deepEqual(await f(`creationDate=lt:"${T2}"`), ['f-one']);
    assert.deepEqual(await f(`creationDate="${T2}"`), ['f-two'], 'no operator: equal');
    assert.deepEqual(await f(`creationDate=gte:"${T1}" creationDate=lt:"${T3}"`), ['f-one', 'f-two']);
    assert.deepEqual(await f(`creationDate=gte:"${T1}" creationDate=lte:"${T3}" creationDate=lt:"${T3}"`),
                     ['f-one', 'f-two'], 'three clauses');
    expectError(await list(srv, instance, `filter=${q(`creationDate=gt:"${T1}" `.repeat(4).trim())}`), 400, 'BAD_BODY_ERR',
                { what: 'four clauses on one date' });
    // Go sends nanoseconds and a zone offset: T1 + 0.123456789 s written at +02:00.
    const t = new Date(Date.parse(T1) + 2 * 3600 * 1000).toISOString().slice(0, 19);
    assert.deepEqual(await f(`creationDate=gt:"${t}.123456789+02:00"`), ['f-three', 'f-two'],
                     'fractions are dropped: gt T1');
    assert.deepEqual(await f(`creationDate=lte:"${t}.123456789+02:00"`), ['f-one']);
  });

  test('lastRotateDate, expirationDate, deletionDate, lastUpdateDate and none', async () => {
    assert.deepEqual(await f('lastRotateDate=none'), ['f-three', 'f-two']);
    assert.deepEqual(await f(`lastRotateDate=gte:"${T3}"`), ['f-one']);
    assert.deepEqual(await f('expirationDate=none'), ['f-one', 'f-two']);
    assert.deepEqual(await f('expirationDate=gt:"2098-12-31T23:59:59Z"'), ['f-three']);
    assert.deepEqual(await f('expirationDate=lt:"2099-01-01T00:00:00Z"'), []);
    assert.deepEqual(await f('deletionDate=none'), ['f-one', 'f-three', 'f-two'], 'default states exclude Destroyed');
    assert.deepEqual(await f(`state=5 deletionDate=gte:"${T4}"`), ['f-four']);
    assert.deepEqual(await f('state=1,5 deletionDate=none'), ['f-one', 'f-three', 'f-two']);
    assert.deepEqual(await f('lastUpdateDate=none'), []);
    assert.deepEqual(await f(`lastUpdateDate=gte:"${T1}"`), ['f-one', 'f-three', 'f-two']);
  });

  test('state and extractable clauses; conflicts with the stand-alone params → 400 BAD_BODY_ERR', async () => {
    assert.deepEqual(await f('extractable=true'), ['f-two']);
    assert.deepEqual(await f('extractable=FALSE'), ['f-one', 'f-three']);
    assert.deepEqual(await f('state=1,5'), ['f-four', 'f-one', 'f-three', 'f-two']);
    assert.deepEqual(await f('state=5'), ['f-four']);
    assert.deepEqual(await f(`state=1,5 extractable=false creationDate=gt:"${T1}"`), ['f-four', 'f-three']);
    for (const qs of [`filter=${q('state=1')}&state=1`, `filter=${q('extractable=true')}&extractable=true`,
      `filter=${q('state=5')}&state=1,2`]) {
      expectError(await list(srv, instance, qs), 400, 'BAD_BODY_ERR', { what: qs });
    }
    for (const bad of ['colour=red', 'creationDate=gt:"yesterday"', 'creationDate=gt:2026-01-01T00:00:00Z',
      'creationDate=between:"2026-01-01T00:00:00Z"', 'extractable=maybe', 'state=7']) {
      expectError(await list(srv, instance, `filter=${q(bad)}`), 400, 'BAD_BODY_ERR', { what: bad });
    }
    assert.deepEqual(await names(srv, instance, `filter=${q('extractable=false')}&search=three`), ['f-three']);
  });

  test('the Go client\'s form encoding: a leading space and spaces as +, a zone offset as %2B', async () => {
    // FilterQueryBuilder writes " creationDate=gt:\"…\"" and url.Values turns
    // spaces into '+'; a literal '+' (a zone offset) arrives as %2B.
    const t = new Date(Date.parse(T1) + 2 * 3600 * 1000).toISOString().slice(0, 19);
    const goEncoded = (s) => encodeURIComponent(s).replace(/%20/g, '+');
    const filter = ` creationDate=gt:"${t}.5+02:00" extractable=false`;
    assert.deepEqual(await names(srv, instance, `filter=${goEncoded(filter)}`), ['f-three']);
  });

  test('HEAD /keys with a filter answers Key-Total', async () => {
    const head = async (filter, extra = '') => {
      const res = await srv.request('HEAD', `/api/v2/keys?filter=${q(filter)}${extra}`, { instance });
      expectStatus(res, 200, `HEAD filter=${filter}`);
      assert.equal(res.text, '');
      return res.headers.get('key-total');
    };
    assert.equal(await head('extractable=false'), '2');
    assert.equal(await head('state=1,5'), '4');
    assert.equal(await head(`creationDate=gt:"${T1}"`), '2');
    assert.equal(await head('lastRotateDate=none', '&extractable=true'), '1');
    const bad = await srv.request('HEAD', `/api/v2/keys?filter=${q('state=1')}&state=1`, { instance });
    assert.equal(bad.status, 400);
  });
});

describe('the search space: at most 5000 keys', () => {
  const srv = useServer({ args: ['--test-clock'] });
  let needle; let ringKey; let createMs;

  before(async () => {
    // 5001 keys: 5000 root keys (one of them the needle) and one standard key in ring "small".
    const started = Date.now();
    let made = 0;
    const worker = async () => {
      while (made < 4999) {
        made += 1;
        await createKey(srv, { name: `bulk-${made}` }, { prefer: 'return=minimal' });
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    needle = await createRootKey(srv, { name: 'needle', aliases: ['needle-alias'] });
    expectStatus(await srv.request('POST', '/api/v2/key_rings/small'), 201);
    ringKey = await createStandardKey(srv, { name: 'ring-needle' }, { headers: { 'X-Kms-Key-Ring': 'small' } });
    createMs = Date.now() - started;
  });

  test('5001 keys → 400 KEY_SEARCH_TOO_BROAD; narrowed to 5000 it answers', async (t) => {
    t.diagnostic(`5001 keys created in ${createMs} ms with 16 parallel POSTs`);
    const head = await srv.request('HEAD', '/api/v2/keys');
    assert.equal(head.headers.get('key-total'), '5001');
    expectError(await srv.request('GET', '/api/v2/keys?search=needle'), 400, 'KEY_SEARCH_TOO_BROAD');
    expectError(await srv.request('GET', `/api/v2/keys?search=${q('not:zzz')}`), 400, 'KEY_SEARCH_TOO_BROAD');
    let res = await srv.request('GET', '/api/v2/keys?search=needle&extractable=false');
    expectStatus(res, 200, 'exactly 5000 root keys');
    assert.deepEqual(res.json.resources.map((k) => k.id), [needle.id]);
    assert.ok(!res.json.metadata.incompleteSearch, desc(res));
    res = await srv.request('GET', `/api/v2/keys?search=needle&filter=${q('extractable=true')}`);
    expectStatus(res, 200, 'narrowed by filter');
    assert.deepEqual(res.json.resources.map((k) => k.id), [ringKey.id]);
    res = await srv.request('GET', '/api/v2/keys?search=needle', { headers: { 'X-Kms-Key-Ring': 'small' } });
    expectStatus(res, 200, 'narrowed by the ring');
    assert.deepEqual(res.json.resources.map((k) => k.id), [ringKey.id]);
    res = await srv.request('GET', '/api/v2/keys?search=needle&state=5');
    expectStatus(res, 200, 'no Destroyed keys');
    assert.equal((res.json.resources || []).length, 0);
  });

  test('a direct lookup still answers, with metadata.incompleteSearch', async () => {
    let res = await srv.request('GET', `/api/v2/keys?search=${needle.id}`);
    expectStatus(res, 200, 'key id');
    assert.equal(res.json.resources[0].id, needle.id);
    assert.equal(res.json.metadata.incompleteSearch, true, desc(res));
    res = await srv.request('GET', `/api/v2/keys?search=${q('alias:needle-alias')}`);
    expectStatus(res, 200, 'alias');
    assert.deepEqual(res.json.resources.map((k) => k.id), [needle.id]);
    assert.equal(res.json.metadata.incompleteSearch, true, desc(res));
    assert.equal(res.json.metadata.searchQuery.query, 'needle-alias');
  });
});
