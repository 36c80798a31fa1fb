#!/usr/bin/env node
import { runCli } from './keygen.js';

// The package's bin: `npx nestjs-mesh-session keygen my-service`.
process.exitCode = await runCli(process.argv.slice(2));
