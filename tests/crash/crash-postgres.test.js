'use strict';
// crash.test.js on the PostgreSQL store: the server is killed with SIGKILL
// while PostgreSQL keeps running, so what must survive is every commit that
// PostgreSQL acknowledged before Keywarden answered 2xx.
process.env.KW_CRASH_BACKEND = 'postgres';
require('./crash.test.js');
