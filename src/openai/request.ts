/** @module openai/request: validate the bodies of the cached endpoints and narrow them from unknown. */
import { z } from 'zod';
import { InvalidRequestError } from './errors.js';

/** The endpoints Reprise caches. */
export type Endpoint = 'chat' | 'completions' | 'embeddings';

const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
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

export interface ChatMessage {
  role: string;
  content?: string | Array<{ type: string; [k: string]: unknown }> | null;
  [k: string]: unknown;
}

/** A validated request: the raw body plus the few fields Reprise acts on. */
export interface ParsedRequest {
  endpoint: Endpoint;
  body: Record<string, unknown>;
  model: string;
  stream: boolean;
  includeUsage: boolean;
}

/** Parse JSON text; a syntax error is a 400. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequestError(
      'We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.',
      null,
      'invalid_json',
    );
  }
}

/** Validate a body for `endpoint`; the first problem becomes a 400 naming the parameter. */
export function parseRequest(endpoint: Endpoint, json: unknown): ParsedRequest {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidRequestError('The request body must be a JSON object.', null, 'invalid_type');
  }
  let result: ReturnType<(typeof schemas)[typeof endpoint]['safeParse']>;
  try {
    result = schemas[endpoint].safeParse(json);
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
  const body = json as Record<string, unknown>;
  const opts = body.stream_options as { include_usage?: boolean } | null | undefined;
  return {
    endpoint,
    body,
    model: body.model as string,
    stream: body.stream === true,
    includeUsage: body.stream === true && opts?.include_usage === true,
  };
}

/** The text of a message's content: a string, or its text parts joined. */
export function messageText(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((p): p is z.infer<typeof textPart> => textPart.safeParse(p).success)
    .map((p) => p.text)
    .join('\n');
}

function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '');
}

function getPath(obj: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k] : undefined), obj);
}
