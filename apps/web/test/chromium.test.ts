import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChromiumSearchSystem, findChromium, installCommand, thisSystem } from './chromium.ts';

const root = mkdtempSync(join(tmpdir(), 'strata-chromium-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let sandboxes = 0;

/** A machine of fake folders: the real file checks, over files this test makes. */
function sandbox(files: Record<string, 'executable' | 'plain'> = {}, env: Record<string, string> = {}): ChromiumSearchSystem & { dir: string } {
  const dir = join(root, `machine-${sandboxes++}`);
  for (const [path, kind] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, '#!/bin/sh\n');
    chmodSync(full, kind === 'executable' ? 0o755 : 0o644);
  }
  mkdirSync(join(dir, 'home'), { recursive: true });
  const real = thisSystem();
  // Only what lies under the sandbox exists: the machine's own /usr/bin/chromium is out of sight.
  const inside = (path: string) => path.startsWith(dir);
  return {
    dir,
    env: { PATH: [join(dir, 'bin'), join(dir, 'usr/local/bin')].join(':'), ...env },
    platform: 'linux',
    home: join(dir, 'home'),
    osRelease: 'ID=debian\n',
    isRoot: true,
    isExecutableFile: (path) => inside(path) && real.isExecutableFile(path),
    entries: (path) => (inside(path) ? real.entries(path) : []),
  };
}

describe('findChromium', () => {
  it('takes CHROMIUM_PATH first', () => {
    const machine = sandbox({ 'opt/my-chrome': 'executable', 'bin/chromium': 'executable' });
    const result = findChromium({ ...machine, env: { ...machine.env, CHROMIUM_PATH: join(machine.dir, 'opt/my-chrome') } });
    expect(result).toEqual({ found: true, path: join(machine.dir, 'opt/my-chrome'), from: 'CHROMIUM_PATH' });
  });

  it('refuses a CHROMIUM_PATH that is not an executable file instead of looking elsewhere', () => {
    const machine = sandbox({ 'opt/readme': 'plain', 'bin/chromium': 'executable' });
    const path = join(machine.dir, 'opt/readme');
    expect(findChromium({ ...machine, env: { ...machine.env, CHROMIUM_PATH: path } })).toEqual({
      found: false,
      message: `CHROMIUM_PATH=${path} is not an executable file: point it at a Chromium or Chrome binary, or unset it to search the usual places.`,
    });
  });

  it('looks for chromium, then chromium-browser, then google-chrome on PATH, in PATH order, skipping what is not executable', () => {
    const machine = sandbox({ 'bin/google-chrome': 'executable', 'bin/chromium': 'plain', 'usr/local/bin/chromium-browser': 'executable' });
    expect(findChromium(machine)).toMatchObject({ found: true, path: join(machine.dir, 'usr/local/bin/chromium-browser'), from: 'PATH' });
    const withChromium = sandbox({ 'bin/google-chrome': 'executable', 'usr/local/bin/chromium': 'executable' });
    expect(findChromium(withChromium)).toMatchObject({ path: join(withChromium.dir, 'usr/local/bin/chromium') });
  });

  it('falls back to the Playwright cache: full Chromium before the headless shell, newest first', () => {
    const machine = sandbox({
      'home/.cache/ms-playwright/chromium_headless_shell-1300/chrome-linux/headless_shell': 'executable',
      'home/.cache/ms-playwright/chromium-1180/chrome-linux/chrome': 'executable',
      'home/.cache/ms-playwright/chromium-1200/chrome-linux/chrome': 'executable',
      'home/.cache/ms-playwright/ffmpeg-1011/ffmpeg-linux': 'executable',
    });
    expect(findChromium(machine)).toEqual({ found: true, path: join(machine.home, '.cache/ms-playwright/chromium-1200/chrome-linux/chrome'), from: 'Playwright cache' });
    const shellOnly = sandbox({ 'home/.cache/ms-playwright/chromium_headless_shell-1300/chrome-linux/headless_shell': 'executable' });
    expect(findChromium(shellOnly)).toMatchObject({ found: true, path: join(shellOnly.home, '.cache/ms-playwright/chromium_headless_shell-1300/chrome-linux/headless_shell') });
  });

  it('reads the cache PLAYWRIGHT_BROWSERS_PATH names', () => {
    const machine = sandbox({ 'browsers/chromium-1200/chrome-linux64/chrome': 'executable' });
    const system = { ...machine, env: { ...machine.env, PLAYWRIGHT_BROWSERS_PATH: join(machine.dir, 'browsers') } };
    expect(findChromium(system)).toMatchObject({ found: true, path: join(machine.dir, 'browsers/chromium-1200/chrome-linux64/chrome') });
  });

  it('found nowhere: one line naming where it looked and the command that installs one here', () => {
    const machine = sandbox({ 'bin/chromium': 'plain' });
    const result = findChromium(machine);
    expect(result).toEqual({
      found: false,
      message: `No Chromium for the browser tests (looked at CHROMIUM_PATH, chromium/chromium-browser/google-chrome/google-chrome-stable on PATH, /usr/bin/chromium and ${join(machine.home, '.cache/ms-playwright')}): install one with \`apt-get install -y chromium\`, or set CHROMIUM_PATH.`,
    });
    expect(result.found || result.message.includes('\n')).toBe(false);
  });
});

describe('installCommand', () => {
  const linux = (osRelease: string, isRoot = false) => installCommand({ platform: 'linux', osRelease, isRoot });
  it.each([
    ['ID=debian\nVERSION_ID="12"\n', 'sudo apt-get install -y chromium'],
    ['ID=ubuntu\nID_LIKE=debian\n', 'sudo snap install chromium'],
    ['ID=linuxmint\nID_LIKE="ubuntu debian"\n', 'sudo apt-get install -y chromium'],
    ['ID=fedora\n', 'sudo dnf install -y chromium'],
    ['ID="rocky"\nID_LIKE="rhel centos fedora"\n', 'sudo dnf install -y chromium'],
    ['ID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n', 'sudo zypper install -y chromium'],
    ['ID=arch\n', 'sudo pacman -S --noconfirm chromium'],
    ['ID=alpine\n', 'sudo apk add chromium'],
    ['ID=nixos\n', 'pnpm --filter @strata/web exec playwright-core install chromium'],
  ])('%j → %s', (osRelease, command) => {
    expect(linux(osRelease)).toBe(command);
  });

  it('drops sudo for root, and knows macOS and Windows', () => {
    expect(linux('ID=debian\n', true)).toBe('apt-get install -y chromium');
    expect(installCommand({ platform: 'darwin', osRelease: undefined, isRoot: false })).toBe('brew install --cask chromium');
    expect(installCommand({ platform: 'win32', osRelease: undefined, isRoot: false })).toBe('winget install Hibbiki.Chromium');
  });
});

describe('without a Chromium the run stops before any test', () => {
  const REPO = fileURLToPath(new URL('../../../', import.meta.url));
  const env = (extra: Record<string, string>) => {
    const clean: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('VITEST')) clean[name] = value;
    return { ...clean, ...extra };
  };
  const missing = join(root, 'no-such-chromium');
  const expected = `CHROMIUM_PATH=${missing} is not an executable file`;

  it('pnpm test (the wrapper) fails at once with the one line, starting nothing', () => {
    const result = spawnSync(process.execPath, [join(REPO, 'tooling/run-tests.ts')], { cwd: REPO, env: env({ CHROMIUM_PATH: missing }), encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(expected)]);
    expect(result.stdout).toBe('');
  });

  it('the web app’s vitest fails in its global setup, running no test file', () => {
    const marker = join(root, 'a-test-ran');
    const vitest = join(dirname(fileURLToPath(import.meta.resolve('vitest/package.json'))), 'vitest.mjs');
    const result = spawnSync(process.execPath, [vitest, 'run', '--config', fileURLToPath(new URL('./chromium-fixture/vitest.config.ts', import.meta.url))], {
      env: env({ CHROMIUM_PATH: missing, FIXTURE_MARKER: marker }),
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toContain(expected);
    expect(existsSync(marker)).toBe(false);
  });
});
