// The TypeScript declarations: `tsc --noEmit` over a file that uses them as DESIGN.md's shapes
// and expects errors on wrong ones.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { bin, js } from './procs.mjs';

test('the TypeScript declarations type-check (tsc --noEmit)', () => {
  const result = spawnSync(bin('tsc'), ['--noEmit', '-p', 'test/tsconfig.json'], { cwd: js, encoding: 'utf8' });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});
