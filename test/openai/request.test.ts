import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/openai/errors.js';
import { parseJson, parseRequest } from '../../src/openai/request.js';
import { chatSplit } from '../../src/openai/query-split.js';
import { contentText } from '../../src/cache/turn-split.js';

const messageText = (content: unknown) => contentText(content, 'text');

/** The InvalidRequestError `fn` throws (fails the test if it throws anything else or nothing). */
function thrown(fn: () => unknown): InvalidRequestError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequestError);
    return err as InvalidRequestError;
  }
  throw new Error('expected an InvalidRequestError, nothing was thrown');
}

const chat = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...extra });

describe('parseJson', () => {
  it('parses valid JSON', () => {
    expect(parseJson('{"a":[1,"x"]}')).toEqual({ a: [1, 'x'] });
  });

  it.each(['{', '', 'not json', '{"a":1,}'])('invalid JSON %j → 400 invalid_json', (text) => {
    const e = thrown(() => parseJson(text));
    expect(e.status).toBe(400);
    expect(e.code).toBe('invalid_json');
    expect(e.type).toBe('invalid_request_error');
    expect(e.param).toBeNull();
    expect(e.toBody().error.code).toBe('invalid_json');
  });
});

describe('parseRequest', () => {
  it('accepts a minimal chat request and keeps the raw body', () => {
    const body = chat({ temperature: 0.2, unknown_param: { x: 1 } });
    const r = parseRequest('chat', body);
    expect(r).toEqual({ endpoint: 'chat', body, model: 'gpt-4o-mini', stream: false, includeUsage: false, split: chatSplit });
    expect(r.body).toBe(body);
  });

  it.each([[null], [[]], ['string'], [42]])('a body that is not an object (%j) → 400', (json) => {
    const e = thrown(() => parseRequest('chat', json));
    expect(e.status).toBe(400);
    expect(e.code).toBe('invalid_type');
  });

  it.each<[Parameters<typeof parseRequest>[0], Record<string, unknown>]>([
    ['chat', { messages: [{ role: 'user', content: 'hi' }] }],
    ['completions', { prompt: 'hi' }],
    ['embeddings', { input: 'hi' }],
  ])('%s without model → param "model", missing_required_parameter', (endpoint, body) => {
    const e = thrown(() => parseRequest(endpoint, body));
    expect(e.status).toBe(400);
    expect(e.param).toBe('model');
    expect(e.code).toBe('missing_required_parameter');
    expect(e.message).toContain("'model'");
  });

  it('an empty model string is an invalid value, not a missing one', () => {
    const e = thrown(() => parseRequest('chat', chat({ model: '' })));
    expect(e.param).toBe('model');
    expect(e.code).toBe('invalid_value');
  });

  it('chat without messages → param "messages", missing_required_parameter', () => {
    const e = thrown(() => parseRequest('chat', { model: 'gpt-4o' }));
    expect(e.status).toBe(400);
    expect(e.param).toBe('messages');
    expect(e.code).toBe('missing_required_parameter');
  });

  it.each([{ role: 'user', content: 'hi' }, 'hi', 3])('chat with messages not an array (%j) → invalid_value on "messages"', (messages) => {
    const e = thrown(() => parseRequest('chat', { model: 'gpt-4o', messages }));
    expect(e.status).toBe(400);
    expect(e.param).toBe('messages');
    expect(e.code).toBe('invalid_value');
  });

  it('chat with an empty messages array → 400 on "messages"', () => {
    expect(thrown(() => parseRequest('chat', { model: 'gpt-4o', messages: [] })).param).toBe('messages');
  });

  it('a bad role type names the parameter by path', () => {
    const e = thrown(() =>
      parseRequest('chat', { model: 'gpt-4o', messages: [{ role: 'system', content: 'x' }, { role: 7, content: 'hi' }] }),
    );
    expect(e.param).toBe('messages[1].role');
    expect(e.code).toBe('invalid_value');
    expect(e.message).toContain("'messages[1].role'");
  });

  it('a missing role is a missing parameter named by path', () => {
    const e = thrown(() => parseRequest('chat', { model: 'gpt-4o', messages: [{ content: 'hi' }] }));
    expect(e.param).toBe('messages[0].role');
    expect(e.code).toBe('missing_required_parameter');
  });

  it('a bad content part names the nested path', () => {
    const e = thrown(() => parseRequest('chat', { model: 'gpt-4o', messages: [{ role: 'user', content: 42 }] }));
    expect(e.param).toBe('messages[0].content');
  });

  it('embeddings needs input', () => {
    const e = thrown(() => parseRequest('embeddings', { model: 'text-embedding-3-small' }));
    expect(e.status).toBe(400);
    expect(e.param).toBe('input');
    expect(parseRequest('embeddings', { model: 'text-embedding-3-small', input: ['a', 'b'] }).endpoint).toBe('embeddings');
    expect(parseRequest('embeddings', { model: 'm', input: [[1, 2], [3]] }).model).toBe('m');
  });

  // BUG (src/openai/request.ts:74): "missing" is detected only for zod's `invalid_type` issues, but a missing
  // union-typed field (embeddings `input`) yields `invalid_union`, so it is reported as
  // "Invalid value for 'input': Invalid input." with code invalid_value, unlike a missing `model` or `messages`.
  it('embeddings without input is reported as a missing required parameter', () => {
    const e = thrown(() => parseRequest('embeddings', { model: 'text-embedding-3-small' }));
    expect(e.code).toBe('missing_required_parameter');
    expect(e.message).toBe("Missing required parameter: 'input'.");
  });

  it('completions accepts string, string-array and token prompts', () => {
    for (const prompt of ['hi', ['a', 'b'], [1, 2, 3], [[1], [2]]]) {
      expect(parseRequest('completions', { model: 'gpt-3.5-turbo-instruct', prompt }).endpoint).toBe('completions');
    }
    expect(thrown(() => parseRequest('completions', { model: 'm', prompt: { x: 1 } })).param).toBe('prompt');
  });

  it('a non-boolean stream is rejected', () => {
    expect(thrown(() => parseRequest('chat', chat({ stream: 'yes' }))).param).toBe('stream');
  });

  it.each([
    [{}, false, false],
    [{ stream: false }, false, false],
    [{ stream: null }, false, false],
    [{ stream: true }, true, false],
    [{ stream: true, stream_options: null }, true, false],
    [{ stream: true, stream_options: { include_usage: false } }, true, false],
    [{ stream: true, stream_options: { include_usage: true } }, true, true],
    // include_usage only means something for a stream
    [{ stream: false, stream_options: { include_usage: true } }, false, false],
  ])('flags %j → stream %s, includeUsage %s', (extra, stream, includeUsage) => {
    const r = parseRequest('chat', chat(extra));
    expect(r.stream).toBe(stream);
    expect(r.includeUsage).toBe(includeUsage);
  });

  it('include_usage of the wrong type is rejected and named', () => {
    expect(thrown(() => parseRequest('chat', chat({ stream: true, stream_options: { include_usage: 'yes' } }))).param).toBe(
      'stream_options.include_usage',
    );
  });
});

describe('contentText (chat text parts)', () => {
  it('returns a string content as is', () => {
    expect(messageText('  hello  ')).toBe('  hello  ');
  });

  it('joins text parts and ignores image and other parts', () => {
    expect(
      messageText([
        { type: 'text', text: 'What is in' },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
        { type: 'text', text: 'this picture?' },
        { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
      ]),
    ).toBe('What is in\nthis picture?');
  });

  it('ignores malformed text parts', () => {
    expect(messageText([{ type: 'text' }, { type: 'text', text: 5 }, { type: 'text', text: 'ok' }])).toBe('ok');
  });

  it('is empty for null, undefined and image-only content', () => {
    expect(messageText(null)).toBe('');
    expect(messageText(undefined)).toBe('');
    expect(messageText([{ type: 'image_url', image_url: { url: 'x' } }])).toBe('');
  });
});
