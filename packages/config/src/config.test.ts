import { describe, expect, it } from 'vitest';
import { ConfigError, childEnv, parseCliEnv, parseConfig, parseTestEnv } from './index.ts';

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const config = parseConfig({});
    expect(config.PORT).toBe(3008);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.RATE_LIMIT_START_PER_MIN).toBe(5);
    expect(config.RATE_LIMIT_STATUS_PER_MIN).toBe(30);
    expect(config.RATE_LIMIT_CONTROL_PER_MIN).toBe(10);
    expect(config.AGENT_FETCH_ALLOW_HOSTS).toEqual([]);
    expect(config.STRATEGY_MAX_DEPTH).toBe(5);
    expect(config.METRICS_TOKEN).toBeUndefined();
    expect(config.WORKER_METRICS_PORT).toBe(9464);
    expect(config.RETENTION_DAYS).toBe(30);
  });

  it('reads the metrics and retention settings (0 turns the worker listener off and keeps events forever)', () => {
    const config = parseConfig({ METRICS_TOKEN: ' s3cret ', WORKER_METRICS_PORT: '0', RETENTION_DAYS: '0' });
    expect(config.METRICS_TOKEN).toBe('s3cret');
    expect(config.WORKER_METRICS_PORT).toBe(0);
    expect(config.RETENTION_DAYS).toBe(0);
  });

  it('reads and coerces values', () => {
    const config = parseConfig({
      PORT: '4000',
      DATABASE_URL: 'postgres://u@h:5432/d',
      LOG_LEVEL: 'debug',
      AGENT_FETCH_ALLOW_HOSTS: ' Example.com, 127.0.0.1 ,',
    });
    expect(config.PORT).toBe(4000);
    expect(config.DATABASE_URL).toBe('postgres://u@h:5432/d');
    expect(config.AGENT_FETCH_ALLOW_HOSTS).toEqual(['example.com', '127.0.0.1']);
  });

  it('treats an empty value as unset', () => {
    expect(parseConfig({ DATABASE_URL: '' }).DATABASE_URL).toBeUndefined();
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['LOG_LEVEL', 'loud'],
    ['RATE_LIMIT_START_PER_MIN', '-1'],
    ['LLM_BASE_URL', 'ftp://x'],
    ['SMTP_URL', 'http://x'],
    ['STRATEGY_MAX_DEPTH', '-1'],
    ['STRATEGY_MAX_DEPTH', '101'],
    ['STRATEGY_MAX_DEPTH', 'deep'],
    ['WORKER_METRICS_PORT', '65536'],
    ['WORKER_METRICS_PORT', '-1'],
    ['RETENTION_DAYS', '-3'],
    ['RETENTION_DAYS', '1.5'],
    ['RETENTION_DAYS', 'forever'],
  ])('names the variable when %s=%s is wrong', (name, value) => {
    let caught: unknown;
    try {
      parseConfig({ [name]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems).toHaveLength(1);
    expect((caught as ConfigError).problems[0]).toContain(name);
    expect((caught as ConfigError).message).toContain(value);
  });
});

describe('childEnv', () => {
  it('fills defaults only where the environment leaves a variable unset or empty (NODE_ENV for pnpm start)', () => {
    process.env.STRATA_TEST_SET = 'development';
    process.env.STRATA_TEST_EMPTY = '';
    try {
      const env = childEnv({ STRATA_TEST_OVERRIDE: 'forced' }, { STRATA_TEST_SET: 'production', STRATA_TEST_EMPTY: 'production', STRATA_TEST_UNSET: 'production', STRATA_TEST_OVERRIDE: 'default' });
      expect([env.STRATA_TEST_SET, env.STRATA_TEST_EMPTY, env.STRATA_TEST_UNSET, env.STRATA_TEST_OVERRIDE]).toEqual(['development', 'production', 'production', 'forced']);
    } finally {
      delete process.env.STRATA_TEST_SET;
      delete process.env.STRATA_TEST_EMPTY;
    }
  });
});

describe('parseCliEnv', () => {
  it('reads the command line variables and names a bad one', () => {
    expect(parseCliEnv({ STRATA_URL: 'https://strata.example', STRATA_TOKEN: ' ', PORT: 'not read here' })).toMatchObject({ STRATA_URL: 'https://strata.example', STRATA_TOKEN: undefined });
    expect(() => parseCliEnv({ STRATA_URL: 'strata.example' })).toThrow(/STRATA_URL: must be an http:\/\/ or https:\/\/ URL \(got "strata.example"\)/);
  });
});

describe('parseTestEnv', () => {
  it('reads the test run\'s variables; empty counts as unset', () => {
    expect(parseTestEnv({ TEST_DATABASE_URL: 'postgres://postgres@db:5432/postgres', STRATA_TEST_RUN_ID: 'abc123def456ghij', CHROMIUM_PATH: '/opt/chrome', STRATA_TEST_DEFAULT_DB_URL: '' })).toEqual({
      TEST_DATABASE_URL: 'postgres://postgres@db:5432/postgres',
      STRATA_TEST_RUN_ID: 'abc123def456ghij',
      CHROMIUM_PATH: '/opt/chrome',
      STRATA_TEST_DEFAULT_DB_URL: undefined,
    });
  });

  it.each([
    ['TEST_DATABASE_URL', 'mysql://x'],
    ['STRATA_TEST_DEFAULT_DB_URL', '127.0.0.1:5432'],
    ['STRATA_TEST_RUN_ID', 'Not An Id'],
  ])('names the variable when %s=%s is wrong', (name, value) => {
    expect(() => parseTestEnv({ [name]: value })).toThrow(ConfigError);
    expect(() => parseTestEnv({ [name]: value })).toThrow(name);
  });
});
