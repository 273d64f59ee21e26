'use strict';
// rekey.test.js on the PostgreSQL store.
process.env.KW_REKEY_BACKEND = 'postgres';
require('./rekey.test.js');
