#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx): the workspace ships sources, not a build.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/kiosk-upstream-sim.ts');
