#!/usr/bin/env node
// Runs the TypeScript command line through tsx's loader, so the command needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/distillate-cli.ts');
