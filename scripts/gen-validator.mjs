#!/usr/bin/env node
// Writes dist/config/experiment-validator.cjs: the experiment schema compiled once by ajv into
// standalone code, so that commands need not compile it at every start (src/config/schema-validator.ts).
// Run by `npm run build`, after tsc.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { PRECOMPILED, standaloneSource } from '../dist/config/schema-validator.js';
import { SCHEMA_PATH } from '../dist/config/load.js';

const temporary = `${PRECOMPILED}.${process.pid}.tmp`;
writeFileSync(temporary, standaloneSource(readFileSync(SCHEMA_PATH, 'utf8')));
renameSync(temporary, PRECOMPILED);
