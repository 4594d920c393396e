#!/usr/bin/env node
// Runs the TypeScript entry through tsx's loader (Node 20.15+: module.register), as `npm start` runs the runtime.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
