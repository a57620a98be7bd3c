#!/usr/bin/env node
// The `migrate` executable. It exists before the first build, so that pnpm links it at install time in a fresh clone.
import "../dist/bin.js";
