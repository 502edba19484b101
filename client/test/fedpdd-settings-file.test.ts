import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { forkTypeScript } from '@distillate/shared';
import { describe, expect, it } from 'vitest';

import { DEFAULT_ATTENTION_DIM, DEFAULT_FEDPDD_SETTINGS, fedPddSettingsFromJson, readFedPddSettingsFile } from '../src/index.js';

const require = createRequire(import.meta.url);
const CLIENT_ENTRY = require.resolve('../src/main.ts');

async function settingsFile(name: string, text: string): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), 'distillate-settings-'));
  const file = path.join(folder, name);
  await writeFile(file, text);
  return file;
}

describe('FedPDD settings file', () => {
  it('merges nested fields over defaults', () => {
    const settings = fedPddSettingsFromJson({ temperature: 10, student: { embeddingDim: 32 }, training: { learningRate: 0.02 } }, 'test.json');

    expect(settings.temperature).toBe(10);
    expect(settings.student).toEqual({ ...DEFAULT_FEDPDD_SETTINGS.student, embeddingDim: 32 });
    expect(settings.training).toEqual({ ...DEFAULT_FEDPDD_SETTINGS.training, learningRate: 0.02 });
    expect(settings.teacherWeight).toBe(DEFAULT_FEDPDD_SETTINGS.teacherWeight);
  });

  it('accepts a complete settings object', () => {
    expect(fedPddSettingsFromJson(JSON.parse(JSON.stringify(DEFAULT_FEDPDD_SETTINGS)), 'full.json')).toEqual(DEFAULT_FEDPDD_SETTINGS);
  });

  it('accepts the attention-pooled architecture and its fields', () => {
    const settings = fedPddSettingsFromJson({ student: { architecture: 'attention-pooled', attentionDim: 8, hiddenDim: 16 } }, 'test.json');

    expect(settings.student).toEqual({ ...DEFAULT_FEDPDD_SETTINGS.student, architecture: 'attention-pooled', attentionDim: 8, hiddenDim: 16 });
  });

  it('gives a new architecture its own default fields', () => {
    const settings = fedPddSettingsFromJson({ student: { architecture: 'attention-pooled' } }, 'test.json');

    expect(settings.student).toEqual({ ...DEFAULT_FEDPDD_SETTINGS.student, architecture: 'attention-pooled', attentionDim: DEFAULT_ATTENTION_DIM });
  });

  it('keeps fields of other architectures out', () => {
    const settings = fedPddSettingsFromJson({ student: { architecture: 'pooled-embedding', embeddingDim: 16 } }, 'test.json');

    expect(settings.student).toEqual({ ...DEFAULT_FEDPDD_SETTINGS.student, embeddingDim: 16 });
    expect(settings.student).not.toHaveProperty('attentionDim');
  });

  it.each([
    ['without an architecture', { student: { attentionDim: 8 } }, /the default architecture is pooled-embedding/],
    ['with the pooled-embedding architecture', { student: { architecture: 'pooled-embedding', attentionDim: 8 } }, /the architecture is pooled-embedding/],
  ])('rejects attentionDim %s', (_, value, reason) => {
    expect(() => fedPddSettingsFromJson(value, 'settings.json')).toThrow(/student\.attentionDim: applies only to attention-pooled students/);
    expect(() => fedPddSettingsFromJson(value, 'settings.json')).toThrow(reason);
  });

  it.each([
    ['an unknown field', { temprature: 10 }, /temprature/],
    ['an unknown nested field', { student: { embeddingSize: 32 } }, /student.*embeddingSize/],
    ['a string where a number belongs', { temperature: '10' }, /temperature/],
    ['a negative epoch count', { warmupEpochs: -1 }, /warmupEpochs/],
    ['a fractional epoch count', { localEpochs: 1.5 }, /localEpochs/],
    ['a zero temperature', { temperature: 0 }, /temperature/],
    ['an unknown upload model', { uploadModel: 'teacher' }, /uploadModel/],
    ['an unknown student architecture', { student: { architecture: 'transformer' } }, /student\.architecture/],
    ['an unknown field of an attention-pooled student', { student: { architecture: 'attention-pooled', attentionSize: 8 } }, /student.*attentionSize/],
    ['a zero attentionDim', { student: { architecture: 'attention-pooled', attentionDim: 0 } }, /student\.attentionDim/],
    ['a keep probability above 1', { training: { keepProbability: 2 } }, /training\.keepProbability/],
    ['an array instead of an object', [1, 2], /settings\.json/],
  ])('rejects %s and names it', (_, value, field) => {
    expect(() => fedPddSettingsFromJson(value, 'settings.json')).toThrow(field);
    expect(() => fedPddSettingsFromJson(value, 'settings.json')).toThrow(/Invalid FedPDD settings in settings\.json/);
  });

  it('names a file with invalid JSON', async () => {
    const file = await settingsFile('broken.json', '{ "temperature": 10, }');
    await expect(readFedPddSettingsFile(file)).rejects.toThrow(`Invalid JSON in the settings file ${file}`);
  });

  it('names a missing file', async () => {
    const file = path.join(tmpdir(), 'distillate-no-such-settings.json');
    await expect(readFedPddSettingsFile(file)).rejects.toThrow(`Failed to read the settings file ${file}`);
  });

  it('client process exits on invalid settings', async () => {
    const settings = await settingsFile('settings.json', JSON.stringify({ temprature: 10 }));
    const data = await settingsFile('ratings.csv', 'user,item\n1,10\n1,11\n1,12\n');
    // Nothing listens at this address, because the client must exit on the settings before connecting.
    const child = forkTypeScript(CLIENT_ENTRY, ['--coordinator', 'http://127.0.0.1:9', '--data', data, '--settings', settings], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });

    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toContain(`Invalid FedPDD settings in ${settings}`);
    expect(stderr).toContain('temprature');
  });
});
