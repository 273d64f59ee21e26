// Derives the WDEK golden vectors of docs/formats/wdek.md independently of
// the C++ code (Node's crypto), so envelope_test.cc checks the format
// against a second implementation. Run: node tests/kat/wdek_vectors.js
'use strict';
const crypto = require('crypto');

function field(buf) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}
function aadOf(instance, key, version, items) {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(items.length);
  return Buffer.concat([
    field(Buffer.from('keywarden/wdek/v1')), field(Buffer.from(instance)),
    field(Buffer.from(key)), field(Buffer.from(version)), count,
    ...items.map((i) => field(Buffer.from(i))),
  ]);
}
function wdek(v) {
  const c = crypto.createCipheriv('aes-256-gcm', v.kek, v.nonce);
  c.setAAD(aadOf(v.instance, v.key, v.version, v.aad));
  const ct = Buffer.concat([c.update(v.dek), c.final(), c.getAuthTag()]);
  const versionBytes = Buffer.from(v.version.replace(/-/g, ''), 'hex');
  return Buffer.concat([Buffer.from([1]), versionBytes, v.nonce, ct]);
}

const kek = Buffer.from([...Array(32).keys()]);
const nonce = Buffer.from([...Array(12).keys()]);
const vectors = [
  {
    name: 'generated 32-byte DEK, no aad', kek, nonce,
    instance: '11111111-2222-4333-8444-555555555555',
    key: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    version: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    dek: Buffer.alloc(32, 0x42), aad: [],
  },
  {
    name: '7-byte DEK, two aad items, later version', kek, nonce,
    instance: '11111111-2222-4333-8444-555555555555',
    key: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    version: '0f0e0d0c-0b0a-4908-8706-050403020100',
    dek: Buffer.from('abcdefg'), aad: ['ctx-1', 'ctx-2'],
  },
  {
    name: 'aad items that would collide if concatenated', kek, nonce,
    instance: '11111111-2222-4333-8444-555555555555',
    key: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    version: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    dek: Buffer.alloc(16, 0x00), aad: ['ab', 'c'],
  },
];
for (const v of vectors) {
  console.log(`${v.name}: ${wdek(v).toString('base64')}`);
}
