'use strict';
// `clevis luks bind -d DEV keywarden CONFIG` on a LUKS2 image file, with the
// real clevis, clevis-luks and cryptsetup (docs/integrations/postgresql.md,
// "Bind the volume").
//
// Binding, listing and recovering the passphrase (`clevis luks pass`, which
// goes through the pin and the server) and checking it against the volume's
// key slot (`cryptsetup open --test-passphrase`) need no device-mapper: they
// always run. Unlocking (`clevis luks unlock`, a dm-crypt mapping over a
// loop device) needs root and /dev/mapper/control; where the machine lacks
// them, that test is skipped and says why.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { useServer } = require('../lib/server');
const { createRootKey, action, expectStatus } = require('../lib/kp');
const { identities } = require('../lib/identity');
const { PinDir, protectedHeader, requireTools } = require('./pin');

// Why unlocking cannot be tested here, or null when it can.
function noDeviceMapper() {
  if (process.getuid() !== 0) return 'not root (dm-crypt needs root)';
  // The node may exist (libdevmapper makes it) while the kernel has no
  // device-mapper: opening it says (ENODEV).
  for (const [dev, what] of [['/dev/mapper/control', 'device-mapper'], ['/dev/loop-control', 'loop devices']]) {
    try {
      fs.closeSync(fs.openSync(dev, 'r+'));
    } catch (e) {
      return `no ${what} on this machine (${dev}: ${e.code})`;
    }
  }
  return null;
}

describe('clevis luks bind on a LUKS2 image with the keywarden pin', () => {
  const srv = useServer({ args: ['--test-clock'] });
  const pin = new PinDir();
  let ids; let key; let config; let image;
  // The volume's first passphrase, as an administrator would type it.
  const passphrase = crypto.randomBytes(24).toString('base64');

  const run = (cmd, args, input) => pin.run(cmd, args, { input: input === undefined ? '' : input });
  async function ok(cmd, args, input) {
    const r = await run(cmd, args, input);
    assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
    return r;
  }

  before(async () => {
    requireTools('cryptsetup', 'clevis-luks-bind');
    ids = identities(srv);
    key = await createRootKey(srv, { name: 'pg-volume' });
    const service = await ids.service('pg-luks', { serviceType: 'databases-for-postgresql' });
    config = {
      url: srv.url, instance: srv.instance, key: key.id,
      apikey_file: pin.apikeyFile(service.apikey),
      crn: `crn:v1:keywarden:private:databases-for-postgresql:local:a/${srv.instance}:pg-volume::`,
    };
    image = path.join(pin.dir, 'pgdata.img');
    fs.writeFileSync(image, '');
    fs.truncateSync(image, 32 * 1024 * 1024);
    // pbkdf2 with few iterations: the test is about the binding, not the KDF.
    await ok('cryptsetup', ['luksFormat', '--type', 'luks2', '--batch-mode', '--pbkdf', 'pbkdf2',
                            '--pbkdf-force-iterations', '1000', '--key-file', '-', image], passphrase);
  });

  test('bind: a keywarden token, and the bound slot opens with what the pin recovers', async () => {
    await ok('clevis', ['luks', 'bind', '-y', '-d', image, '-k', '-', 'keywarden', JSON.stringify(config)],
             passphrase);
    // `clevis luks list` knows only clevis's own pins (it prints "unknown
    // pin"): read the LUKS2 token that bind wrote instead.
    const token = JSON.parse((await ok('cryptsetup', ['token', 'export', '--token-id', '0', image])).stdout);
    assert.equal(token.type, 'clevis');
    assert.deepEqual(token.keyslots, ['1']);
    const hdr = protectedHeader(token.jwe.protected + '....');
    assert.equal(hdr.clevis.pin, 'keywarden');
    assert.equal(hdr.clevis.keywarden.key, key.id);
    assert.equal(hdr.clevis.keywarden.crn, config.crn);
    const pass = await ok('clevis', ['luks', 'pass', '-d', image, '-s', '1']);
    assert.ok(pass.stdout.length > 0);
    assert.notEqual(pass.stdout.toString(), passphrase);
    await ok('cryptsetup', ['open', '--test-passphrase', '--key-slot', '1', '--key-file', '-', image], pass.stdout);
    const res = await srv.request('GET', `/api/v2/keys/${key.id}/registrations`);
    expectStatus(res, 200, 'registrations');
    assert.deepEqual(res.json.resources.map((r) => r.resourceCrn), [config.crn]);
  });

  test('a disabled key leaves the volume locked; enabled, it opens again', async () => {
    expectStatus(await action(srv, key.id, 'disable'), 204, 'disable');
    const refused = await run('clevis', ['luks', 'pass', '-d', image, '-s', '1']);
    assert.notEqual(refused.status, 0);
    assert.equal(refused.stdout.length, 0);
    assert.match(refused.stderr, /keywarden clevis-pin: cannot unwrap with key/, refused.stderr);
    await ids.advance(31);
    expectStatus(await action(srv, key.id, 'enable'), 204, 'enable');
    const pass = await ok('clevis', ['luks', 'pass', '-d', image, '-s', '1']);
    await ok('cryptsetup', ['open', '--test-passphrase', '--key-slot', '1', '--key-file', '-', image], pass.stdout);
  });

  test('unlock: clevis luks unlock maps the volume (needs device-mapper)', async (t) => {
    const why = noDeviceMapper();
    if (why) {
      console.log(`# skipped: clevis luks unlock: ${why}`);
      t.skip(why);
      return;
    }
    const name = `kwtest-${crypto.randomBytes(4).toString('hex')}`;
    await ok('clevis', ['luks', 'unlock', '-d', image, '-n', name]);
    try {
      assert.ok(fs.existsSync(`/dev/mapper/${name}`), `/dev/mapper/${name} missing`);
    } finally {
      await run('cryptsetup', ['close', name]);
    }
  });
});
