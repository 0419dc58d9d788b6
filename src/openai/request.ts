/** @module openai/request: validate the bodies of the OpenAI endpoints Reprise caches and narrow them from unknown. */
import { z } from 'zod';
import type { ParsedRequest, QuerySplit } from '../cache/wire.js';
import { InvalidRequestError } from './errors.js';
import { chatSplit, completionsSplit, noSplit } from './query-split.js';

/** The Chat Completions-era endpoints this module parses (the Responses API has its own, openai/responses.ts). */
type ChatEra = 'chat' | 'completions' | 'embeddings';
const SPLITS: Record<ChatEra, QuerySplit> = { chat: chatSplit, completions: completionsSplit, embeddings: noSplit };

const part = z.looseObject({ type: z.string() });
const message = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(part), z.null()]).optional(),
});

const streamOptions = z.looseObject({ include_usage: z.boolean().optional() }).nullish();

const schemas = {
  chat: z.looseObject({
    model: z.string().min(1),
    messages: z.array(message).min(1),
    stream: z.boolean().nullish(),
    stream_options: streamOptions,
    n: z.number().int().min(1).nullish(),
  }),
  completions: z.looseObject({
    model: z.string().min(1),
    prompt: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))]).nullish(),
    stream: z.boolean().nullish(),
    stream_options: streamOptions,
  }),
  embeddings: z.looseObject({
    model: z.string().min(1),
    input: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))]),
  }),
} as const;


/** Parse JSON text; a syntax error is a 400. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequestError(
      'We could not parse the JSON body of your request. The API expects a JSON payload.',
      null,
      'invalid_json',
    );
  }
}

/** Validate a body for `endpoint`; the first problem becomes a 400 naming the parameter. */
export function parseRequest(endpoint: ChatEra, json: unknown): ParsedRequest {
  const body = validate(schemas[endpoint], json);
  const opts = body.stream_options as { include_usage?: boolean } | null | undefined;
  return {
    endpoint,
    body,
    model: body.model as string,
    stream: body.stream === true,
    includeUsage: body.stream === true && opts?.include_usage === true,
    split: SPLITS[endpoint],
  };
}

/** `json` checked against `schema`: a JSON object, or a 400 naming the first parameter that is wrong. Any API's. */
export function validate(schema: z.ZodType, json: unknown): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidRequestError('The request body must be a JSON object.', null, 'invalid_type');
  }
  let result: ReturnType<z.ZodType['safeParse']>;
  try {
    result = schema.safeParse(json);
  } catch {
    // zod runs a length check even on a value of the wrong type, and a value that cannot become a primitive throws.
    throw new InvalidRequestError('The request body has a value of the wrong type.', null, 'invalid_value');
  }
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const param = formatPath(issue.path);
    const missing = getPath(json, issue.path) === undefined;
    throw new InvalidRequestError(
      missing ? `Missing required parameter: '${param}'.` : `Invalid value for '${param}': ${issue.message}.`,
      param,
      missing ? 'missing_required_parameter' : 'invalid_value',
    );
  }
  return json as Record<string, unknown>;
}

function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '');
}

function getPath(obj: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k] : undefined), obj);
}
