'use strict';
// Strict HTTP and JSON (docs/api.md "Strict HTTP and JSON", issue 10 §4):
// RFC 9112 §3.2 Host rules and bounded chunk extensions over a raw socket,
// repeated JSON member names refused on every endpoint that reads a body
// (RFC 7493 §2.3), typed envelope fields, and Key Protect's validation order.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { useServer } = require('../lib/server');
const {
  KEY_TYPE, POLICY_TYPE, desc, expectStatus, expectError, keyEnvelope, keyResource, createRootKey,
} = require('../lib/kp');

const srv = useServer({ args: ['--test-clock'] });

// Sends raw bytes on a fresh connection; resolves with what the server sent
// before closing (closed: true) or before `ms` of silence (closed: false).
function rawExchange(bytes, ms = 3000) {
  const { hostname, port } = new URL(srv.url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    const chunks = [];
    let timer = null;
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const arm = () => { clearTimeout(timer); timer = setTimeout(finish, ms); };
    sock.on('connect', () => { sock.write(bytes); arm(); });
    sock.on('data', (d) => { chunks.push(d); arm(); });
    sock.on('end', () => { closed = true; finish(); });
    sock.on('close', () => { closed = true; finish(); });
    sock.on('error', (e) => (chunks.length ? finish() : reject(e)));
  });
}

// The status line and the JSON body of a raw response.
function parseRaw(text) {
  const status = Number((/^HTTP\/1\.[01] (\d{3})/.exec(text) || [])[1]);
  const split = text.indexOf('\r\n\r\n');
  let json = null;
  try { json = JSON.parse(text.slice(split + 4)); } catch { /* not JSON */ }
  return { status, json, text };
}

function expectRawBadRequest(out, what) {
  const res = parseRaw(out.text);
  assert.equal(res.status, 400, `${what}: ${out.text.slice(0, 300)}`);
  // The Key Protect error envelope, as for the server's other parse errors.
  assert.equal(res.json?.metadata?.collectionType, 'application/vnd.ibm.kms.error+json', `${what}: ${out.text}`);
  assert.equal(res.json.resources[0].reasons[0].code, 'BAD_REQUEST_ERR', `${what}: ${out.text}`);
  assert.ok(out.closed, `${what}: connection left open`);
}

async function healthy() {
  expectStatus(await srv.request('GET', '/healthz'), 200, 'healthz');
}

const authHeaders = () => `Authorization: Bearer ${srv.token}\r\nBluemix-Instance: ${srv.instance}\r\n`;

describe('Host (RFC 9112 §3.2)', () => {
  test('HTTP/1.1 without Host: 400 envelope, connection closed', async () => {
    expectRawBadRequest(await rawExchange(`GET /api/v2/keys HTTP/1.1\r\n${authHeaders()}\r\n`), 'no Host');
    await healthy();
  });

  test('two Host fields (same or different, any case, any version): 400 envelope, closed', async () => {
    for (const hosts of ['Host: a\r\nHost: a\r\n', 'Host: a\r\nhost: b\r\n']) {
      for (const version of ['1.1', '1.0']) {
        const out = await rawExchange(`GET /api/v2/keys HTTP/${version}\r\n${hosts}${authHeaders()}\r\n`);
        expectRawBadRequest(out, `${JSON.stringify(hosts)} HTTP/${version}`);
      }
    }
    await healthy();
  });

  test('a Host that is not host[:port]: 400', async () => {
    expectRawBadRequest(await rawExchange(`GET /healthz HTTP/1.1\r\nHost: user@evil\r\n\r\n`), 'userinfo');
  });

  test('refused before the body is read: no 100 Continue, nothing created', async () => {
    const body = JSON.stringify(keyEnvelope(keyResource({ name: 'hostless' })));
    const out = await rawExchange(`POST /api/v2/keys HTTP/1.1\r\n${authHeaders()}Expect: 100-continue\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}`);
    assert.doesNotMatch(out.text, /100 Continue/);
    expectRawBadRequest(out, 'POST without Host');
    const list = await srv.request('GET', '/api/v2/keys?limit=5000');
    assert.ok(!list.json.resources?.some((k) => k.name === 'hostless'), 'a key was created');
  });

  test('HTTP/1.0 without Host and HTTP/1.1 with one are served', async () => {
    assert.match((await rawExchange('GET /healthz HTTP/1.0\r\n\r\n', 1500)).text, /^HTTP\/1\.[01] 200/);
    assert.match((await rawExchange('GET /healthz HTTP/1.1\r\nHost: localhost:1\r\nConnection: close\r\n\r\n')).text,
      /^HTTP\/1\.1 200/);
  });
});

describe('chunk extensions (RFC 9112 §7.1.1)', () => {
  const head = () => `POST /api/v2/keys HTTP/1.1\r\nHost: x\r\n${authHeaders()}Transfer-Encoding: chunked\r\n\r\n`;

  test('a 100 kB chunk extension: 400 envelope, closed, nothing created', async () => {
    const body = JSON.stringify(keyEnvelope(keyResource({ name: 'extended' })));
    const out = await rawExchange(`${head()}${body.length.toString(16)};x=${'e'.repeat(100 * 1024)}\r\n${body}\r\n0\r\n\r\n`);
    expectRawBadRequest(out, '100 kB extension');
    const list = await srv.request('GET', '/api/v2/keys?limit=5000');
    assert.ok(!list.json.resources?.some((k) => k.name === 'extended'), 'a key was created');
    await healthy();
  });

  test('1 kB on one chunk, or many small ones adding up: 400', async () => {
    expectRawBadRequest(await rawExchange(`${head()}1;${'e'.repeat(1024)}\r\n{\r\n0\r\n\r\n`), '1 kB');
    const many = Array.from({ length: 40 }, () => `1;${'e'.repeat(60)}\r\n \r\n`).join('');
    expectRawBadRequest(await rawExchange(`${head()}${many}0\r\n\r\n`), 'many');
  });

  test('a short extension is still accepted', async () => {
    const body = JSON.stringify(keyEnvelope(keyResource({ name: 'short-ext' })));
    const out = await rawExchange(`${head().replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}` +
      `${body.length.toString(16)};name=value\r\n${body}\r\n0\r\n\r\n`);
    assert.match(out.text, /^HTTP\/1\.1 201/, out.text.slice(0, 300));
  });
});

describe('repeated member names (RFC 7493 §2.3)', () => {
  let key;
  let serviceId;
  before(async () => {
    key = await createRootKey(srv, { name: 'dup-target' });
    const res = await srv.request('POST', '/admin/v1/service_ids', { body: { name: 'dup-svc', serviceType: 'x' } });
    expectStatus(res, 201, 'service id');
    serviceId = res.json.id;
  });

  const keyMeta = `"metadata":{"collectionType":"${KEY_TYPE}","collectionTotal":1}`;
  const policyMeta = `"metadata":{"collectionType":"${POLICY_TYPE}","collectionTotal":1}`;
  const crn = encodeURIComponent('crn:v1:bluemix:public:cloud-object-storage:global:a/1:inst:bucket:b');
  // Every endpoint that reads a body, with a body that repeats a member it
  // reads (or, where it reads none, any member), at the top or nested.
  const cases = () => [
    ['POST', '/api/v2/keys', `{${keyMeta},"resources":[{"name":"ab","extractable":true,"extractable":false}]}`],
    ['POST', '/api/v2/keys', `{${keyMeta},"resources":[],"resources":[{"name":"ab"}]}`],
    ['POST', '/api/v2/keys', `{${keyMeta},"resources":[{"name":"ab","Name":"cd"}]}`],
    ['POST', '/api/v2/keys_with_policy_overrides',
      `{${keyMeta},"resources":[{"name":"ab","rotation":{"enabled":true,"enabled":false}}]}`],
    ['PATCH', `/api/v2/keys/${key.id}`, '{"keyRingID":"default","keyRingID":"other"}'],
    ['POST', `/api/v2/keys/${key.id}/actions/wrap`, '{"plaintext":"AAAAAAAAAAAAAAAAAAAAAA==","plaintext":"BBBBBBBBBBBBBBBBBBBBBA=="}'],
    ['POST', `/api/v2/keys/${key.id}/actions/unwrap`, '{"ciphertext":"a","ciphertext":"b"}'],
    ['POST', `/api/v2/keys/${key.id}/actions/rewrap`, '{"ciphertext":"a","CIPHERTEXT":"b"}'],
    ['POST', `/api/v2/keys/${key.id}/actions/rotate`, '{"payload":"a","payload":"b"}'],
    ['POST', `/api/v2/keys/${key.id}/actions/disable`, '{"x":1,"x":2}'],
    ['POST', `/api/v2/keys/${key.id}/actions/enable`, '{"x":1,"x":2}'],
    ['POST', `/api/v2/keys/${key.id}/actions/setKeyForDeletion`, '{"x":1,"x":2}'],
    ['POST', `/api/v2/keys/${key.id}/actions/unsetKeyForDeletion`, '{"x":1,"x":2}'],
    ['POST', `/api/v2/keys/${key.id}/actions/sync`, '{"x":1,"x":2}'],
    ['POST', `/api/v2/keys/${key.id}/restore`, '{"x":1,"x":2}'],
    ['POST', `/api/v2/keys/${key.id}?action=wrap`, '{"plaintext":"AAAA","plaintext":"BBBB"}'],
    ['POST', `/api/v2/keys/${key.id}/aliases/dup-alias`, '{"x":{"y":1,"y":2}}'],
    ['POST', '/api/v2/key_rings/dup-ring', '{"x":1,"x":2}'],
    ['PUT', `/api/v2/keys/${key.id}/policies`,
      `{${policyMeta},"resources":[{"rotation":{"enabled":true,"interval_month":2,"interval_month":3}}]}`],
    ['PUT', '/api/v2/instance/policies',
      `{${policyMeta},"resources":[{"policy_type":"rotation","policy_type":"dualAuthDelete","policy_data":{"enabled":false}}]}`],
    ['POST', '/api/v2/import_token', '{"maxAllowedRetrievals":1,"maxAllowedRetrievals":2}'],
    ['POST', `/api/v2/keys/${key.id}/registrations/${crn}`,
      '{"metadata":{"collectionType":"application/vnd.ibm.kms.registration_input+json","collectionTotal":1},' +
      '"resources":[{"preventKeyDeletion":false,"preventKeyDeletion":true}]}'],
    ['PUT', `/api/v2/keys/${key.id}/registrations/${crn}`, '{"metadata":{"collectionTotal":1,"collectionTotal":1},"resources":[{}]}'],
    ['PATCH', `/api/v2/keys/${key.id}/registrations/${crn}`, '{"metadata":{"collectionTotal":1},"resources":[{"description":"a","description":"b"}]}'],
    ['POST', `/api/v2/keys/${key.id}/registrations?action=deactivate`,
      '{"metadata":{"collectionTotal":1},"resources":[{"resourceCrn":"crn:a","resourceCrn":"crn:b"}]}'],
    ['POST', '/api/v2/event_ack',
      '{"metadata":{"collectionTotal":1},"resources":[{"eventId":"a","eventId":"b","adopterKeyState":"DEK_ENABLED"}]}'],
    ['POST', '/_test/clock/advance', '{"seconds":1,"seconds":100000}'],
    ['POST', '/admin/v1/users', '{"name":"u1","name":"u2"}'],
    ['POST', '/admin/v1/service_ids', '{"name":"s1","serviceType":"a","serviceType":"b"}'],
    ['POST', '/admin/v1/api_keys', `{"principalId":"${serviceId}","name":"k","name":"l"}`],
    ['POST', '/admin/v1/instances', '{"name":"i1","name":"i2"}'],
    ['POST', '/admin/v1/policies',
      `{"principalId":"${serviceId}","instanceId":"${srv.instance}","roles":["Reader"],"roles":["Manager"]}`],
    ['POST', '/admin/v1/authorizations',
      `{"sourceServiceId":"${serviceId}","instanceId":"${srv.instance}","role":"Reader","role":"Manager"}`],
    ['PUT', `/admin/v1/service_ids/${serviceId}/webhook`, '{"url":"https://a.example/","url":"https://b.example/"}'],
  ];

  test('every endpoint that reads a body: 400 BAD_BODY_ERR naming the member', async () => {
    for (const [method, path, raw] of cases()) {
      const res = await srv.request(method, path, { raw });
      expectError(res, 400, 'BAD_BODY_ERR', { what: `${method} ${path} ${raw}` });
      assert.ok(res.json.resources[0].reasons[0].target?.name, `${method} ${path}: no target: ${desc(res)}`);
    }
  });

  test('nothing happened: the key is unchanged and no key, instance or principal was made', async () => {
    const md = await srv.request('GET', `/api/v2/keys/${key.id}/metadata`);
    expectStatus(md, 200);
    assert.equal(md.json.resources[0].state, 1, desc(md));
    assert.equal(md.json.resources[0].keyRingID, 'default', desc(md));
    const list = await srv.request('GET', '/api/v2/keys?limit=5000');
    assert.equal(list.json.resources.filter((k) => k.name === 'ab').length, 0, desc(list));
    const principals = await srv.request('GET', '/admin/v1/principals');
    assert.ok(!JSON.stringify(principals.json).match(/"(u1|u2|s1)"/), desc(principals));
  });

  test('the same bodies without the repetition are accepted (the test exercises the rule, not a typo)', async () => {
    const res = await srv.request('POST', `/api/v2/keys/${key.id}/actions/wrap`,
      { raw: '{"plaintext":"AAAAAAAAAAAAAAAAAAAAAA=="}' });
    expectStatus(res, 200, 'wrap');
    const created = await srv.request('POST', '/api/v2/keys', { raw: `{${keyMeta},"resources":[{"name":"ab-ok","extractable":false}]}` });
    expectStatus(created, 201, 'create');
  });
});

describe('envelope fields are typed (keyprotect-api.md §1.3)', () => {
  const withMeta = (metadata) => ({ metadata, resources: [keyResource({ name: 'typed' })] });

  test('collectionType of another type or value, collectionTotal not an integer: 400 BAD_BODY_ERR', async () => {
    for (const metadata of [
      { collectionType: 7, collectionTotal: 1 },
      { collectionType: {}, collectionTotal: 1 },
      { collectionType: null, collectionTotal: 1 },
      { collectionType: POLICY_TYPE, collectionTotal: 1 },
      { collectionType: KEY_TYPE, collectionTotal: null },
      { collectionType: KEY_TYPE, collectionTotal: '1' },
      { collectionType: KEY_TYPE, collectionTotal: 1.5 },
    ]) {
      const res = await srv.request('POST', '/api/v2/keys', { body: withMeta(metadata) });
      expectError(res, 400, 'BAD_BODY_ERR', { what: JSON.stringify(metadata) });
    }
    const list = await srv.request('GET', '/api/v2/keys?limit=5000');
    assert.equal(list.json.resources.filter((k) => k.name === 'typed').length, 0, 'a key was created');
  });

  test('policy endpoints check their own type', async () => {
    const key = await createRootKey(srv, { name: 'typed-policy' });
    const body = { metadata: { collectionType: KEY_TYPE, collectionTotal: 1 },
                   resources: [{ rotation: { enabled: true, interval_month: 2 } }] };
    expectError(await srv.request('PUT', `/api/v2/keys/${key.id}/policies`, { body }), 400, 'BAD_BODY_ERR');
  });
});

describe('validation order (Key Protect)', () => {
  test('create with two keys: 400 BAD_BODY_ERR, whatever collectionTotal says', async () => {
    for (const collectionTotal of [2, 1]) {
      const res = await srv.request('POST', '/api/v2/keys', {
        body: keyEnvelope([keyResource(), keyResource()], { collectionTotal }),
      });
      expectError(res, 400, 'BAD_BODY_ERR', { msgIncludes: 'Only creation of one key per request is supported' });
    }
  });

  test('instance policy whose body names another policy than ?policy=: BODY_QUERY_PARAM_MISMATCH_ERR first', async () => {
    for (const resource of [
      { policy_type: 'dualAuthDelete', policy_data: { enabled: true } },
      { policy_type: 'notAPolicy', policy_data: { enabled: true } },
      { policy_type: 'allowedIP', policy_data: { enabled: 'yes', attributes: { allowed_ip: 5 } } },
    ]) {
      const res = await srv.request('PUT', '/api/v2/instance/policies?policy=rotation', {
        body: { metadata: { collectionType: POLICY_TYPE, collectionTotal: 1 }, resources: [resource] },
      });
      expectError(res, 400, 'BODY_QUERY_PARAM_MISMATCH_ERR', { what: JSON.stringify(resource) });
    }
  });
});
