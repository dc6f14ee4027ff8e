import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCliEnv } from '@strata/config';
import { afterAll, describe, expect, it } from 'vitest';
import { configPath, readConfigFile, resolveSettings, writeConfigFile } from './settings.ts';

const dir = await mkdtemp(join(tmpdir(), 'strata-settings-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const config = { url: 'http://a.example:3008', token: 'config-token', workspace: 'ws_config' };

describe('resolveSettings', () => {
  it('takes each value from the flag, else the environment, else the config file', () => {
    const env = parseCliEnv({ STRATA_URL: 'http://a.example:3008/', STRATA_TOKEN: 'env-token', STRATA_WORKSPACE: 'ws_env' });
    expect(resolveSettings({}, parseCliEnv({}), config, 'p')).toMatchObject({ url: 'http://a.example:3008', token: 'config-token', workspace: 'ws_config', sources: { url: 'config', token: 'config', workspace: 'config' } });
    expect(resolveSettings({}, env, config, 'p')).toMatchObject({ url: 'http://a.example:3008', token: 'env-token', workspace: 'ws_env', sources: { url: 'env', token: 'env', workspace: 'env' } });
    expect(resolveSettings({ url: 'http://a.example:3008', token: 'flag-token', workspace: 'ws_flag' }, env, config, 'p')).toMatchObject({ token: 'flag-token', workspace: 'ws_flag', sources: { url: 'flag', token: 'flag', workspace: 'flag' } });
  });

  it('never sends the config file token (or its workspace) to another server', () => {
    const settings = resolveSettings({ url: 'http://b.example' }, parseCliEnv({}), config, 'p');
    expect(settings).toMatchObject({ url: 'http://b.example', token: undefined, workspace: undefined });
  });
});

describe('the config file', () => {
  it('lives under XDG_CONFIG_HOME, else ~/.config', () => {
    expect(configPath(parseCliEnv({ XDG_CONFIG_HOME: '/x', HOME: '/h' }))).toBe('/x/strata/config.json');
    expect(configPath(parseCliEnv({ HOME: '/h' }))).toBe('/h/.config/strata/config.json');
  });

  it('is written 0600 (even over a file that was readable by others) and read back', async () => {
    const path = join(dir, 'strata', 'config.json');
    await writeConfigFile(path, config);
    await writeFile(path, '{}', { mode: 0o644 });
    await writeConfigFile(path, { ...config, tokenId: 'tok_1' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readConfigFile(path)).toEqual({ ...config, tokenId: 'tok_1' });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ ...config, tokenId: 'tok_1' });
  });

  it('is optional, and a broken one is named', async () => {
    expect(await readConfigFile(join(dir, 'none.json'))).toEqual({});
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{ "url": ');
    await expect(readConfigFile(broken)).rejects.toThrow(`The config file ${broken} is not valid JSON`);
  });
});
