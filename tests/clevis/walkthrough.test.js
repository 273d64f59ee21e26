'use strict';
// The seed's walkthrough for disks of databases (issue 11 §5), as tests: a
// LUKS passphrase (here: any secret) bound to a Keywarden root key with the
// Clevis pin, for Databases for PostgreSQL and for Cloudant, each with the
// real clevis and jose (docs/integrations/postgresql.md, cloudant.md):
//   1. a server, an instance, a root key, a service id of the service's
//      type with an API key, authorized Reader on the instance;
//   2. clevis encrypt / decrypt round trip;
//   3. the key's registrations name the protected resource;
//   4. disabled key: decrypt (and encrypt) fail with a clear message;
//   5. enabled again: everything works;
//   6. rotated: new JWEs use the new version, old ones still decrypt;
//   7. deleted: nothing decrypts any more.
// Nothing sleeps: the 30 s enable cool-down and the hour between rotations
// are passed by moving the server's clock (--test-clock).

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useServer } = require('../lib/server');
const { createRootKey, metadataOf, action, expectStatus, desc } = require('../lib/kp');
const { identities } = require('../lib/identity');
const { PinDir, protectedHeader, requireTools } = require('./pin');

const SERVICES = [
  { name: 'Databases for PostgreSQL', serviceType: 'databases-for-postgresql', resource: 'pg-main' },
  { name: 'Cloudant', serviceType: 'cloudantnosqldb', resource: 'couch-main' },
];

const crnOf = (svc, instance) =>
  `crn:v1:keywarden:private:${svc.serviceType}:local:a/${instance}:${svc.resource}::`;

async function expectDecrypts(pin, jwe, secret, what) {
  const r = await pin.decrypt(jwe);
  assert.equal(r.status, 0, `${what}: clevis decrypt failed: ${r.stderr}`);
  assert.ok(r.stdout.equals(secret), `${what}: clevis decrypt gave other bytes`);
}

async function expectRefused(pin, jwe, keyId, reason, what) {
  const r = await pin.decrypt(jwe);
  assert.notEqual(r.status, 0, `${what}: clevis decrypt succeeded`);
  assert.equal(r.stdout.length, 0, `${what}: output despite the failure`);
  assert.match(r.stderr, new RegExp(`keywarden clevis-pin: cannot unwrap with key ${keyId} at http://[^ ]+: ${reason}`),
               `${what}: ${r.stderr}`);
  return r;
}

for (const svc of SERVICES) {
  describe(`walkthrough: ${svc.name} disks behind the Clevis pin`, () => {
    const srv = useServer({ args: ['--test-clock'] });
    const pin = new PinDir();  // at the top of the describe: its after() removes it
    let ids; let instance; let key; let service; let config; let crn;
    const secret = crypto.randomBytes(64);
    let jweV1;

    before(async () => {
      requireTools();
      // 1. instance, root key, service id + API key, Reader authorization.
      ids = identities(srv);
      instance = await srv.createInstance(`${svc.serviceType}-disks`);
      key = await createRootKey(srv, { name: `${svc.resource}-disk` }, { instance });
      service = await ids.service(`${svc.serviceType}-luks`, { serviceType: svc.serviceType, instance });
      assert.equal(service.authorization.role, 'Reader');
      crn = crnOf(svc, instance);
      config = { url: srv.url, instance, key: key.id, apikey_file: pin.apikeyFile(service.apikey), crn };
    });

    test('2. clevis encrypt keywarden / clevis decrypt round-trip; the JWE holds the WDEK, not the API key', async () => {
      const enc = await pin.encrypt(config, secret);
      assert.equal(enc.status, 0, enc.stderr);
      jweV1 = enc.stdout;
      const hdr = protectedHeader(jweV1);
      assert.equal(hdr.alg, 'dir');
      assert.equal(hdr.enc, 'A256GCM');
      assert.equal(hdr.clevis.pin, 'keywarden');
      const kw = hdr.clevis.keywarden;
      assert.equal(kw.url, srv.url);
      assert.equal(kw.instance, instance);
      assert.equal(kw.key, key.id);
      assert.equal(kw.key_version, (await metadataOf(srv, key.id, { instance })).keyVersion.id);
      assert.equal(typeof kw.wdek, 'string');
      assert.equal(kw.apikey_file, config.apikey_file);
      assert.equal(kw.crn, crn);
      const text = jweV1.toString('utf8');
      assert.ok(!text.includes(service.apikey), 'the API key is in the JWE');
      assert.ok(!Buffer.from(text.split('.')[0], 'base64url').toString().includes(service.apikey));
      await expectDecrypts(pin, jweV1, secret, 'fresh JWE');
    });

    test('3. the key\'s registrations name the protected resource', async () => {
      const res = await srv.request('GET', `/api/v2/keys/${key.id}/registrations`, { instance });
      expectStatus(res, 200, 'list registrations');
      const regs = res.json.resources || [];
      assert.deepEqual(regs.map((r) => r.resourceCrn), [crn], desc(res));
      assert.equal(regs[0].keyId, key.id);
    });

    test('4. disabled: decrypt and encrypt fail with a clear message', async () => {
      expectStatus(await action(srv, key.id, 'disable', undefined, { instance }), 204, 'disable');
      const r = await expectRefused(pin, jweV1, key.id, 'KEY_ACTION_INVALID_STATE_ERR', 'disabled');
      assert.ok(!r.stderr.includes(service.apikey), 'the API key in a message');
      const enc = await pin.encrypt(config, secret);
      assert.notEqual(enc.status, 0);
      assert.equal(enc.stdout.length, 0);
      assert.match(enc.stderr, new RegExp(`keywarden clevis-pin: cannot wrap with key ${key.id}: `), enc.stderr);
    });

    test('5. enabled again: everything works', async () => {
      await ids.advance(31);  // enable waits 30 s after the last action
      expectStatus(await action(srv, key.id, 'enable', undefined, { instance }), 204, 'enable');
      await expectDecrypts(pin, jweV1, secret, 'after enable');
      const enc = await pin.encrypt(config, secret);
      assert.equal(enc.status, 0, enc.stderr);
      await expectDecrypts(pin, enc.stdout, secret, 'encrypted after enable');
    });

    let jweV2;
    test('6. rotated: new data uses the new version, old data still decrypts', async () => {
      const before = (await metadataOf(srv, key.id, { instance })).keyVersion.id;
      assert.equal(protectedHeader(jweV1).clevis.keywarden.key_version, before);
      await ids.advance(3601);  // an hour between rotations
      expectStatus(await action(srv, key.id, 'rotate', undefined, { instance }), 204, 'rotate');
      const after = (await metadataOf(srv, key.id, { instance })).keyVersion.id;
      assert.notEqual(after, before);
      const other = crypto.randomBytes(32);
      const enc = await pin.encrypt(config, other);
      assert.equal(enc.status, 0, enc.stderr);
      jweV2 = enc.stdout;
      assert.equal(protectedHeader(jweV2).clevis.keywarden.key_version, after);
      await expectDecrypts(pin, jweV2, other, 'new version');
      await expectDecrypts(pin, jweV1, secret, 'old version after rotation');
    });

    test('7. deleted: the data can no longer be recovered', async () => {
      // The key protects a registered resource: deletion must be forced.
      expectStatus(await srv.request('DELETE', `/api/v2/keys/${key.id}?force=true`, { instance }), 204, 'delete');
      await expectRefused(pin, jweV1, key.id, '[A-Z_]+ERR', 'deleted (v1)');
      await expectRefused(pin, jweV2, key.id, '[A-Z_]+ERR', 'deleted (v2)');
    });
  });
}
