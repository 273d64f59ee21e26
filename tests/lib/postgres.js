'use strict';
// A throw-away database on the test PostgreSQL server (KEYWARDEN_TEST_PG_URL,
// started by scripts/test.sh), dropped after the file's tests.
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { after } = require('node:test');

// { url } of a new database named `<prefix>_<pid>_<random>`; without a
// server { skip: why }, or { fail: why } when KEYWARDEN_TEST_PG_REQUIRED=1.
function postgresDatabase(prefix) {
  const server = process.env.KEYWARDEN_TEST_PG_URL;
  if (!server) {
    const why = 'no PostgreSQL server: set KEYWARDEN_TEST_PG_URL (scripts/test.sh starts one)';
    return process.env.KEYWARDEN_TEST_PG_REQUIRED === '1' ? { fail: why } : { skip: why };
  }
  const name = `${prefix}_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  execFileSync('psql', [server, '-v', 'ON_ERROR_STOP=1', '-qAtc', `CREATE DATABASE ${name}`]);
  after(() => {
    try {
      execFileSync('psql', [server, '-qAtc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    } catch { /* the throw-away server goes away anyway */ }
  });
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { url: url.toString() };
}

module.exports = { postgresDatabase };
