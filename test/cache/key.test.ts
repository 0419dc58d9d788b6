import { describe, expect, it } from 'vitest';
import { buildKey, exactKeyOf, type CacheKey, type KeyContext } from '../../src/cache/key.js';
import { canonicalJson, KeyDepthError, keyTreeOf } from '../../src/cache/key-json.js';
import { InvalidRequestError } from '../../src/openai/errors.js';
import { parseRequest } from '../../src/openai/request.js';
import { chatSplit } from '../../src/openai/query-split.js';
type Endpoint = Parameters<typeof parseRequest>[0];

const CTX: KeyContext = { tenant: 'tenant-a', namespace: '', embedderId: 'bundled/use-lite@1' };

const key = (endpoint: Endpoint, body: Record<string, unknown>, ctx: Partial<KeyContext> = {}): CacheKey =>
  buildKey(parseRequest(endpoint, body), { ...CTX, ...ctx });

const IMAGE = { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } };

function chat(extra: Record<string, unknown> = {}, last: unknown = 'What is the capital of France?') {
  return {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: last },
    ],
    temperature: 0,
    ...extra,
  };
}

describe('buildKey: what does not change the key', () => {
  it('identical requests give the same scope and textKey', async () => {
    const a = await key('chat', chat());
    const b = await key('chat', chat());
    expect(a).toEqual(b);
    expect(a.scope).toMatch(/^[0-9a-f]{64}$/);
    expect(a.textKey).toMatch(/^[0-9a-f]{64}$/);
    expect(a.semantic).toBe(true);
    expect(exactKeyOf(a)).toBe(`${a.scope}:${a.textKey}`);
  });

  it('stream and stream_options stay out of the scope', async () => {
    const base = await key('chat', chat());
    for (const extra of [{ stream: true }, { stream: false }, { stream: true, stream_options: { include_usage: true } }]) {
      const k = await key('chat', chat(extra));
      expect(k.scope).toBe(base.scope);
      expect(k.textKey).toBe(base.textKey);
    }
  });

  it('key order at any depth does not matter', async () => {
    const a = await key('chat', {
      model: 'gpt-4o',
      temperature: 0.5,
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'string' } } } } },
      messages: [{ role: 'user', content: 'q' }],
    });
    const b = await key('chat', {
      messages: [{ content: 'q', role: 'user' }],
      response_format: { json_schema: { schema: { properties: { a: { type: 'string' } }, type: 'object' }, name: 'x' }, type: 'json_schema' },
      temperature: 0.5,
      model: 'gpt-4o',
    });
    expect(b.scope).toBe(a.scope);
    expect(b.textKey).toBe(a.textKey);
  });

  it('what cannot change meaning changes neither scope nor textKey (line endings, blank lines before, whitespace after), and the text is kept as sent', async () => {
    const a = await key('chat', chat({}, 'What is the capital\nof France?'));
    const b = await key('chat', chat({}, '\n  \nWhat is the capital\r\nof France?\t\n'));
    expect(b.scope).toBe(a.scope);
    expect(b.textKey).toBe(a.textKey);
    expect(b.text).toBe('\n  \nWhat is the capital\r\nof France?\t\n');
  });

  it('spaces inside a line, line breaks and indentation are kept in the exact key: code and YAML depend on them', async () => {
    const base = await key('chat', chat({}, 'What is the capital of France?'));
    for (const other of ['What is  the capital of France?', 'What is the capital\nof France?', '  What is the capital of France?']) {
      expect((await key('chat', chat({}, other))).textKey, JSON.stringify(other)).not.toBe(base.textKey);
    }
    const py = (body: string) => key('chat', chat({}, `What does this print?\n\nfor i in range(3):\n    print(i)\n${body}print("done")`));
    expect((await py('')).textKey).not.toBe((await py('    ')).textKey);
    const yamlA = await key('chat', chat({}, 'Is this valid?\na:\n  b: 1\n  c: 2'));
    const yamlB = await key('chat', chat({}, 'Is this valid?\na:\n  b: 1\nc: 2'));
    expect(yamlA.textKey).not.toBe(yamlB.textKey);
  });

  it('the wording of the last user turn changes the textKey but not the scope', async () => {
    const a = await key('chat', chat({}, 'What is the capital of France?'));
    const b = await key('chat', chat({}, "What's France's capital city?"));
    expect(b.scope).toBe(a.scope);
    expect(b.textKey).not.toBe(a.textKey);
    // case can change meaning, so it is kept
    const c = await key('chat', chat({}, 'WHAT IS THE CAPITAL OF FRANCE?'));
    expect(c.textKey).not.toBe(a.textKey);
  });
});

describe('buildKey: everything that can change the answer is in the scope', () => {
  const variants: Array<[string, Endpoint, Record<string, unknown>, Partial<KeyContext>?]> = [
    ['model', 'chat', chat({ model: 'gpt-4o' })],
    ['system prompt', 'chat', { ...chat(), messages: [{ role: 'system', content: 'You are verbose.' }, ...chat().messages.slice(1)] }],
    ['developer message added', 'chat', { ...chat(), messages: [{ role: 'developer', content: 'Answer in French.' }, ...chat().messages] }],
    ['temperature', 'chat', chat({ temperature: 0.7 })],
    ['top_p', 'chat', chat({ top_p: 0.5 })],
    ['max_tokens', 'chat', chat({ max_tokens: 10 })],
    ['max_completion_tokens', 'chat', chat({ max_completion_tokens: 10 })],
    ['seed', 'chat', chat({ seed: 42 })],
    ['stop', 'chat', chat({ stop: ['\n'] })],
    ['n', 'chat', chat({ n: 2 })],
    ['presence_penalty', 'chat', chat({ presence_penalty: 1 })],
    ['logit_bias', 'chat', chat({ logit_bias: { '50256': -100 } })],
    ['reasoning_effort', 'chat', chat({ reasoning_effort: 'high' })],
    ['tools', 'chat', chat({ tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }] })],
    ['tool_choice', 'chat', chat({ tool_choice: 'required' })],
    ['response_format', 'chat', chat({ response_format: { type: 'json_object' } })],
    ['an unknown parameter', 'chat', chat({ some_future_param: true })],
    ['an earlier turn', 'chat', { ...chat(), messages: chat().messages.map((m, i) => (i === 2 ? { role: 'assistant', content: 'Hey!' } : m)) }],
    ['a field of the last user message other than its text', 'chat', { ...chat(), messages: [...chat().messages.slice(0, -1), { role: 'user', name: 'bob', content: 'What is the capital of France?' }] }],
    ['tenant', 'chat', chat(), { tenant: 'tenant-b' }],
    ['namespace', 'chat', chat(), { namespace: 'ns1' }],
    ['embedder id', 'chat', chat(), { embedderId: 'transformers/Xenova/all-MiniLM-L6-v2@q8' }],
  ];

  it.each(variants)('a different %s → a different scope', async (_, endpoint, body, ctx) => {
    const base = await key('chat', chat());
    const k = await key(endpoint, body, ctx);
    expect(k.scope).not.toBe(base.scope);
    // the query text is the same in every variant, so only the scope tells them apart
    expect(k.textKey).toBe(base.textKey);
  });

  it('a different image part in the last turn → a different scope, same text', async () => {
    const withImage = (url: string) => [{ type: 'text', text: 'What is in this picture?' }, { ...IMAGE, image_url: { url } }];
    const a = await key('chat', chat({}, withImage('https://example.com/cat.png')));
    const b = await key('chat', chat({}, withImage('https://example.com/dog.png')));
    const noImage = await key('chat', chat({}, [{ type: 'text', text: 'What is in this picture?' }]));
    expect(b.scope).not.toBe(a.scope);
    expect(noImage.scope).not.toBe(a.scope);
    expect(b.textKey).toBe(a.textKey);
    expect(a.text).toBe('What is in this picture?');
    expect(a.semantic).toBe(true);
  });

  it('a different endpoint → a different scope for the same text', async () => {
    const c = await key('chat', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hi' }] });
    const p = await key('completions', { model: 'gpt-4o-mini', prompt: 'Say hi' });
    expect(p.scope).not.toBe(c.scope);
    expect(p.textKey).toBe(c.textKey);
  });
});

describe('buildKey: query text and semantic matching', () => {
  it('text is the joined text parts of the last user turn', async () => {
    const k = await key('chat', chat({}, [{ type: 'text', text: 'Describe' }, { type: 'text', text: 'this image.' }, IMAGE]));
    expect(k.text).toBe('Describe\nthis image.');
    expect(k.semantic).toBe(true);
  });

  it('text parts an image stands between are matched exactly: the joined text would not say which words came where', async () => {
    // "Image 1:", img, "Image 2:\nWhich is brighter?", img and "Image 1:\nImage 2:", img, "Which is brighter?", img
    // join to one text; they are two questions.
    const a = await key('chat', chat({}, [{ type: 'text', text: 'Image 1:' }, IMAGE, { type: 'text', text: 'Image 2:\nWhich is brighter?' }, IMAGE]));
    const b = await key('chat', chat({}, [{ type: 'text', text: 'Image 1:\nImage 2:' }, IMAGE, { type: 'text', text: 'Which is brighter?' }, IMAGE]));
    expect(a.semantic).toBe(false);
    expect(exactKeyOf(a)).not.toBe(exactKeyOf(b));
  });

  it('text comes only from the last user turn, not earlier ones', async () => {
    const k = await key('chat', chat({}, 'Last question'));
    expect(k.text).toBe('Last question');
  });

  it.each(['assistant', 'tool', 'system'])('last message from %s → not semantic, whole conversation in scope', async (role) => {
    const body = (content: string) => ({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Q' }, { role, content, ...(role === 'tool' && { tool_call_id: 'c1' }) }] });
    const a = await key('chat', body('one'));
    const b = await key('chat', body('two'));
    expect(a.semantic).toBe(false);
    expect(a.text).toBe('');
    expect(a.textKey).toBe(b.textKey);
    expect(a.scope).not.toBe(b.scope);
  });

  it('a last user turn with only an image is exact-only', async () => {
    const k = await key('chat', chat({}, [IMAGE]));
    expect(k.semantic).toBe(false);
  });

  it('completions with a string prompt is semantic on the prompt', async () => {
    const a = await key('completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon a time' });
    const b = await key('completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon a time \n' });
    const c = await key('completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'In a galaxy far away' });
    expect(a.semantic).toBe(true);
    expect(a.text).toBe('Once upon a time');
    expect(b.scope).toBe(a.scope);
    expect(b.textKey).toBe(a.textKey);
    expect(c.scope).toBe(a.scope);
    expect(c.textKey).not.toBe(a.textKey);
  });

  it('completions with a token-array prompt is exact-only, with the tokens in the scope', async () => {
    const a = await key('completions', { model: 'gpt-3.5-turbo-instruct', prompt: [1, 2, 3] });
    const b = await key('completions', { model: 'gpt-3.5-turbo-instruct', prompt: [1, 2, 4] });
    expect(a.semantic).toBe(false);
    expect(a.text).toBe('');
    expect(b.scope).not.toBe(a.scope);
  });

  it('completions with several string prompts is exact-only', async () => {
    const a = await key('completions', { model: 'm', prompt: ['a', 'b'] });
    const b = await key('completions', { model: 'm', prompt: ['a', 'c'] });
    expect(a.semantic).toBe(false);
    expect(b.scope).not.toBe(a.scope);
  });

  it('embeddings are exact-only, with the input in the scope', async () => {
    const a = await key('embeddings', { model: 'text-embedding-3-small', input: 'hello world' });
    const b = await key('embeddings', { model: 'text-embedding-3-small', input: 'hello  world' });
    const a2 = await key('embeddings', { model: 'text-embedding-3-small', input: 'hello world' });
    expect(a.semantic).toBe(false);
    expect(a.text).toBe('');
    expect(b.scope).not.toBe(a.scope);
    expect(a2).toEqual(a);
  });
});

describe('buildKey on the body as the upstream reads it (cache/key-json.ts)', () => {
  /** The key the pipeline computes for a raw JSON body. */
  const keyOfText = (text: string) => buildKey({ endpoint: 'chat', body: keyTreeOf(text) as Record<string, unknown>, split: chatSplit }, CTX);
  const body = (extra: string) => `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Pick a number."}]${extra}}`;

  it('integers above 2^53 stay apart: two seeds JSON.parse reads as one number get different scopes', () => {
    expect(JSON.parse('9007199254740993')).toBe(JSON.parse('9007199254740992'));
    expect(keyOfText(body(',"seed":9007199254740993')).scope).not.toBe(keyOfText(body(',"seed":9007199254740992')).scope);
  });

  it('1e400 and null key apart, though JSON.stringify writes both as null', () => {
    expect(keyOfText(body(',"temperature":1e400')).scope).not.toBe(keyOfText(body(',"temperature":null')).scope);
  });

  it('a "__proto__" member is part of the scope', () => {
    const plain = keyOfText(body(''));
    const withProto = keyOfText(body(',"__proto__":{"temperature":2}'));
    expect(withProto.scope).not.toBe(plain.scope);
    expect(keyOfText(body(',"__proto__":{"temperature":1}')).scope).not.toBe(withProto.scope);
  });

  it('where the text parts stand among images is part of the scope; the text itself is not', () => {
    const img = '{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}';
    const parts = (p: string) => `{"model":"gpt-4o-mini","messages":[{"role":"user","content":[${p}]}]}`;
    const before = keyOfText(parts(`${img},{"type":"text","text":"Describe"},{"type":"text","text":"briefly"}`));
    const after = keyOfText(parts(`{"type":"text","text":"Describe"},{"type":"text","text":"briefly"},${img}`));
    expect(before.text).toBe(after.text);
    expect(before.scope).not.toBe(after.scope);
    const otherWords = keyOfText(parts(`${img},{"type":"text","text":"Explain"},{"type":"text","text":"in detail"}`));
    expect(otherWords.scope).toBe(before.scope);
    expect(otherWords.textKey).not.toBe(before.textKey);
  });

  it('keys a plain parsed body exactly as its key tree', () => {
    const text = body(',"temperature":0.7,"max_tokens":64,"stop":["\\n"]');
    expect(keyOfText(text)).toEqual(buildKey({ endpoint: 'chat', body: JSON.parse(text) as Record<string, unknown>, split: chatSplit }, CTX));
  });

  it('a member repeated with different values is a 400 naming it; repeated with the same value it is fine', () => {
    expect(() => keyTreeOf('{"model":"a","model":"b"}')).toThrow(InvalidRequestError);
    let thrown: unknown;
    try {
      keyTreeOf('{"model":"a","messages":[],"temperature":0,"temperature":1}');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ status: 400, param: 'temperature', code: 'duplicate_key' });
    expect(() => keyTreeOf('{"model":"a","model":"a"}')).not.toThrow();
  });

  it('nesting deeper than the parser can follow is a KeyDepthError (the request fails open), and canonicalJson has no depth limit', () => {
    const deep = (n: number) => `{"model":"m","messages":[],"x":${'['.repeat(n)}${']'.repeat(n)}}`;
    expect(() => keyTreeOf(deep(200_000))).toThrow(KeyDepthError);
    let v: unknown = 1;
    for (let i = 0; i < 200_000; i++) v = [v];
    expect(canonicalJson(v)).toBe(`${'['.repeat(200_000)}1${']'.repeat(200_000)}`);
    expect(canonicalJson({ b: [1, { d: null, c: 'x' }], a: undefined, e: true })).toBe('{"b":[1,{"c":"x","d":null}],"e":true}');
  });
});

describe('buildKey: a text longer than the embedder reads', () => {
  const ctx = { ...CTX, inputLength: (t: string) => Math.min(t.length, 20) };
  const long = (tail: string) => chat({}, `Summarise this text: ${'lorem ipsum '.repeat(10)}${tail}`);

  it('embeds only the first inputLength code units, and keeps the rest in the scope', () => {
    const a = buildKey(parseRequest('chat', long('and the ending A')), ctx);
    expect(a.embedText).toBe(a.text.slice(0, 20));
    const b = buildKey(parseRequest('chat', long('and the ending B')), ctx);
    // The same first 20 characters, another tail: never the same scope, so never a semantic match of each other.
    expect(b.embedText).toBe(a.embedText);
    expect(b.scope).not.toBe(a.scope);
    // The same whole text: the same key (an exact match still works).
    expect(buildKey(parseRequest('chat', long('and the ending A')), ctx)).toEqual(a);
  });

  it('a text the embedder reads whole keys as it would without a limit', () => {
    const short = chat({}, 'Short question?');
    const k = buildKey(parseRequest('chat', short), ctx);
    expect(k.embedText).toBe(k.text);
    expect(k).toEqual(buildKey(parseRequest('chat', short), CTX));
  });

  it('never cuts inside a surrogate pair', () => {
    const k = buildKey(parseRequest('chat', chat({}, `${'x'.repeat(19)}😀 and more`)), ctx);
    expect(k.embedText).toBe('x'.repeat(19));
  });
});

describe('buildKey: exact-only (an embedder that embeds nothing, as a Worker without Workers AI)', () => {
  it('keeps the query text in the scope, so different texts never share a key and equal ones do', () => {
    const a = key('chat', chat(), { exactOnly: true });
    const b = key('chat', chat({}, 'What is the capital of Spain?'), { exactOnly: true });
    expect(a.semantic).toBe(false);
    expect(a.textKey).toBe(b.textKey);
    expect(a.scope).not.toBe(b.scope);
    expect(exactKeyOf(key('chat', chat(), { exactOnly: true }))).toBe(exactKeyOf(a));
  });
});
