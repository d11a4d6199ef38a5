// `tollgate` as package.json's bin: built by `prepare` (which `npm ci` runs), an executable script
// with a shebang, dispatching its commands; `prepare` does nothing where there is nothing to build
// (the Docker build stage runs `npm ci` before it copies the sources).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../devkit/root';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
const bin = path.join(REPO_ROOT, pkg.bin.tollgate!);
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: os.tmpdir(), encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });

test('package.json names the built dispatcher, which starts with a shebang', () => {
  expect(pkg.bin).toEqual({ tollgate: 'dist/validator/cli/tollgate.js' });
  expect(fs.readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
});

test("commands: help, each command's help, an unknown command", () => {
  const help = run('--help');
  expect(help.status).toBe(0);
  for (const c of ['check', 'explain', 'migrate', 'quota']) expect(help.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  expect(run('check', '--help')).toMatchObject({ status: 0, stdout: expect.stringMatching(/^usage: tollgate check/) });
  expect(run('explain', '--help')).toMatchObject({ status: 0, stdout: expect.stringMatching(/^usage: tollgate explain/) });
  expect(run('quota', '--help')).toMatchObject({ status: 0, stdout: expect.stringMatching(/^usage: npm run quota/) });
  expect(run('migrate', '--help')).toMatchObject({ status: 0, stdout: expect.stringMatching(/^usage: npm run migrate/) });
  expect(run('frobnicate')).toMatchObject({ status: 2, stderr: expect.stringMatching(/^tollgate: unknown command "frobnicate"/) });
  expect(run()).toMatchObject({ status: 2, stderr: expect.stringMatching(/^usage: tollgate <command>/) });
});

test('prepare builds in a checkout and does nothing without sources (the image build runs npm ci first)', () => {
  expect(pkg.scripts.prepare).toMatch(/tsconfig\.json/);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-prepare-'));
  try {
    fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(empty, 'package.json'));
    const out = execFileSync('sh', ['-c', pkg.scripts.prepare!], {
      cwd: empty,
      encoding: 'utf8',
      env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` },
    });
    expect(out).toBe('');
    expect(fs.readdirSync(empty)).toEqual(['package.json']);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});
