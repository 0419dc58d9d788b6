/** `reprise calibrate` finds a threshold that meets a precision target on the operator's own labelled pairs. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrate, formatCalibration, readPairs } from '../src/calibrate.js';
import { bundledEmbedder } from './helpers/harness.js';

const pairs = [
  { a: 'How do I reset my password?', b: 'How can I reset my password?', label: 1 },
  { a: 'What is the best way to learn to cook?', b: 'What is the best way to learn cooking?', label: 1 },
  { a: 'How can I improve my public speaking skills?', b: 'How do I get better at public speaking?', label: 1 },
  { a: 'Where can I buy cheap flights to Japan?', b: 'How do I find cheap flights to Japan?', label: 1 },
  { a: 'How do I learn to play the guitar?', b: 'How do I learn to play the piano?', label: 0 },
  { a: 'What are the symptoms of the flu?', b: 'What are the symptoms of a cold?', label: 0 },
  { a: 'How do I make a website?', b: 'How do I make money from a website?', label: 0 },
  { a: 'What is the speed of sound?', b: 'What is the speed of light?', label: 0 },
] as const;

describe('calibrate', () => {
  it('reads a JSONL file and reports the threshold that reaches the target, with its recall', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reprise-cal-'));
    const file = join(dir, 'pairs.jsonl');
    writeFileSync(file, pairs.map((p) => JSON.stringify(p)).join('\n'));
    const read = readPairs(file);
    expect(read).toHaveLength(pairs.length);
    const result = await calibrate(read, await bundledEmbedder(), 0.99);
    expect(result.positives).toBe(4);
    expect(result.chosen).toBeDefined();
    expect(result.chosen!.precision).toBeGreaterThanOrEqual(0.99);
    // the chosen threshold is the lowest that reaches the target
    const lower = result.rows.filter((r) => r.threshold < result.chosen!.threshold && r.served > 0);
    expect(lower.every((r) => r.precision < 0.99)).toBe(true);
    const text = formatCalibration(result, 0.99);
    expect(text).toContain(`--threshold ${result.chosen!.threshold}`);
    expect(text).toContain(`recall ${result.chosen!.recall.toFixed(3)}`);
  });

  it('rejects a malformed line with its line number', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reprise-cal-'));
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, '{"a":"x","b":"y","label":1}\n{"a":"x","label":1}\n');
    expect(() => readPairs(file)).toThrow(/bad\.jsonl:2/);
  });
});
