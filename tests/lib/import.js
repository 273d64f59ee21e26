'use strict';
// Secure import done as a Key Protect user does it with node's crypto
// (keyprotect-api.md §8.2, docs/api.md "Secure import"): the token's public
// key is the PEM in base64 `payload`; the material is RSA-OAEP encrypted
// (SHA-256, MGF1-SHA-256, no label); the token nonce is AES-GCM encrypted
// under the material with a 12-byte IV, ciphertext‖tag.

const crypto = require('node:crypto');

// { publicKey (KeyObject), pem, nonce (Buffer) } of a GET /import_token answer.
function parseToken(json) {
  const pem = Buffer.from(json.payload, 'base64').toString('utf8');
  return { publicKey: crypto.createPublicKey(pem), pem, nonce: Buffer.from(json.nonce, 'base64') };
}

function rsaOaep(publicKey, data, oaepHash = 'sha256') {
  return crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash },
                              data);
}

function gcmSeal(key, iv, plaintext) {
  const c = crypto.createCipheriv(`aes-${key.length * 8}-gcm`, key, iv);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

// The create/rotate fields of a secure import of `material` with `token`
// (parseToken's result). `nonce` and `iv` override what is encrypted and
// sent, and `sealWith` the AES key of the nonce, to build the negative
// cases (material of a size AES cannot use is sealed with its first 16 bytes).
function secureImportFields(token, material, { nonce = token.nonce, iv = crypto.randomBytes(12), sentIv,
                                               sealWith, oaepHash = 'sha256', algorithm = 'RSAES_OAEP_SHA_256' } = {}) {
  const aesKey = sealWith || ([16, 24, 32].includes(material.length) ? material : material.subarray(0, 16));
  const fields = {
    payload: rsaOaep(token.publicKey, material, oaepHash).toString('base64'),
    encryptedNonce: gcmSeal(aesKey, iv, nonce).toString('base64'),
    iv: (sentIv || iv).toString('base64'),
  };
  if (algorithm) fields.encryptionAlgorithm = algorithm;
  return fields;
}

module.exports = { parseToken, rsaOaep, gcmSeal, secureImportFields };
