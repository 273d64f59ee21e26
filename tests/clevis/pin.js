'use strict';
// The Clevis pin under test: Debian's real clevis and jose, running
// integrations/clevis/clevis-{encrypt,decrypt}-keywarden with the keywarden
// binary under test beside them, as `make install` lays them out.
//
// A PinDir is a private temp dir (mode 0700) holding symlinks to the two pin
// scripts and to the binary, put first on PATH; clevis finds the pin there
// and the pin finds `keywarden` next to itself. API key files are written
// there, mode 0600. Nothing secret is ever passed as an argument: secrets go
// to clevis on stdin and come back on stdout.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after } = require('node:test');
const { binaryPath, REPO } = require('../lib/server');

const PIN_SRC = path.join(REPO, 'integrations', 'clevis');

// clevis and jose come from Debian (scripts/deps.sh test); without them the
// tests fail and say so, rather than pass having checked nothing.
function requireTools(...tools) {
  const missing = ['clevis', 'jose', ...tools].filter(
    (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length) {
    throw new Error(`${missing.join(', ')} not installed: run scripts/deps.sh test`);
  }
}

// Construct it synchronously in a describe() body (its after() hook removes
// it when the suite ends).
class PinDir {
  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keywarden-clevis-'));
    fs.chmodSync(this.dir, 0o700);
    for (const name of ['clevis-encrypt-keywarden', 'clevis-decrypt-keywarden']) {
      fs.symlinkSync(path.join(PIN_SRC, name), path.join(this.dir, name));
    }
    fs.symlinkSync(binaryPath(), path.join(this.dir, 'keywarden'));
    after(() => fs.rmSync(this.dir, { recursive: true, force: true }));
  }

  // Replaces `name` (jose, keywarden) on this dir's PATH by a wrapper that
  // appends its arguments, one per line, to `log`, then runs the real one:
  // what a `ps` on the host would have seen.
  recordArgs(name, real, log) {
    const file = path.join(this.dir, name);
    fs.rmSync(file, { force: true });
    fs.writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' "${name}" "$@" >> '${log}'\nexec '${real}' "$@"\n`,
                     { mode: 0o755 });
  }

  // Writes `apikey` to a new file of `mode` in the dir; returns its path.
  apikeyFile(apikey, name = 'apikey', mode = 0o600) {
    const file = path.join(this.dir, name);
    fs.writeFileSync(file, `${apikey}\n`, { mode });
    fs.chmodSync(file, mode);
    return file;
  }

  env(extra = {}) {
    const env = { ...process.env, PATH: `${this.dir}:${process.env.PATH}`, ...extra };
    delete env.KEYWARDEN_APIKEY;
    if (extra.KEYWARDEN_APIKEY) env.KEYWARDEN_APIKEY = extra.KEYWARDEN_APIKEY;
    // The binary is an ASan build: a leak or UB report fails the call.
    env.ASAN_OPTIONS = env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=1';
    env.UBSAN_OPTIONS = env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1';
    return env;
  }

  // Runs `cmd args` with `input` on stdin; resolves {status, stdout (Buffer),
  // stderr (string)}. Asynchronous, so that the test server (in this
  // process's event loop) keeps answering while clevis runs.
  run(cmd, args, { input = Buffer.alloc(0), env = {} } = {}) {
    const { spawn } = require('node:child_process');
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { env: this.env(env), stdio: ['pipe', 'pipe', 'pipe'] });
      const out = []; const err = [];
      child.stdout.on('data', (d) => out.push(d));
      child.stderr.on('data', (d) => err.push(d));
      child.on('error', reject);
      child.on('close', (status) => resolve({
        status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'),
      }));
      child.stdin.on('error', () => {});  // a command that exits early
      child.stdin.end(input);
    });
  }

  // `clevis encrypt keywarden CONFIG < secret`; resolves the result.
  encrypt(config, secret, opts) {
    const cfg = typeof config === 'string' ? config : JSON.stringify(config);
    return this.run('clevis', ['encrypt', 'keywarden', cfg], { input: secret, ...opts });
  }

  // `clevis decrypt < jwe`.
  decrypt(jwe, opts) {
    return this.run('clevis', ['decrypt'], { input: jwe, ...opts });
  }
}

// The protected header of a compact JWE, as JSON.
function protectedHeader(jwe) {
  const text = Buffer.isBuffer(jwe) ? jwe.toString('utf8') : jwe;
  const parts = text.trim().split('.');
  if (parts.length !== 5) throw new Error(`not a compact JWE: ${parts.length} parts`);
  return JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
}

module.exports = { PinDir, protectedHeader, requireTools, PIN_SRC };
