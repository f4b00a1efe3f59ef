import type { ESLint } from 'eslint';

/** device-drivers/src folder -> the folders it may import (scripts/eslint-dependency-direction.js). */
export const DRIVER_FOLDER_RULES: Readonly<Record<string, readonly string[]>>;
export function workspacePackages(root: string): Map<string, { name: string; runtime: Set<string>; dev: Set<string>; exports: Record<string, unknown> }>;
export const dependencyPlugin: ESLint.Plugin;
