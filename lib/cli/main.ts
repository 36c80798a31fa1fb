#!/usr/bin/env node
import { runCli } from './cli.js';

// The package's bin: `npx nestjs-mesh-session keygen my-service`, `npx nestjs-mesh-session --help`.
process.exitCode = await runCli(process.argv.slice(2));
