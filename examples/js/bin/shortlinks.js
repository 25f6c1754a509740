#!/usr/bin/env node
import { main } from '../dist/cli.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`shortlinks: ${err.message}`);
    process.exitCode = 1;
  },
);
