/**
 * @module openai/responses: the Responses API (`POST /v1/responses`) as the pipeline sees it (cache/wire.ts): which
 * requests are cacheable, where their query text is, and which answers are complete enough to store.
 *
 * A request that names state kept upstream (`previous_response_id`, `conversation`) cannot be keyed by its body,
 * and a `background` one answers with a handle to poll, not the answer: those go upstream untouched. `store: true`
 * (the API's default) is cached like any other parameter: a hit returns the original answer under its original id,
 * which upstream still holds.
 */
import { z } from 'zod';
import type { ParsedRequest, WireApi } from '../cache/wire.js';
import { tokenCount } from '../observe/prices.js';
import { OPENAI_ERRORS } from './errors.js';
import { responsesSplit } from './query-split.js';
import { validate } from './request.js';
import { ResponsesAssembly, responseToEvents } from './responses-stream.js';

/** A response as Reprise reads it; every other field is kept as it came. */
export interface Response {
  id: string;
  object: 'response';
  status: string;
  output: OutputItem[];
  error?: unknown;
  incomplete_details?: { reason?: string } | null;
  usage?: { input_tokens?: number; output_tokens?: number; total_tokens?: number; [k: string]: unknown } | null;
  [k: string]: unknown;
}

export interface OutputItem {
  type: string;
  id?: string;
  [k: string]: unknown;
}

const item = z.looseObject({});
const schema = z.looseObject({
  // A stored prompt (`prompt`) can stand in for both the model and the input.
  model: z.string().min(1).optional(),
  input: z.union([z.string(), z.array(item)]).optional(),
  stream: z.boolean().nullish(),
  background: z.boolean().nullish(),
  previous_response_id: z.string().nullish(),
  conversation: z.union([z.string(), z.looseObject({})]).nullish(),
  prompt: z.looseObject({ id: z.string() }).nullish(),
});

function parse(json: unknown): ParsedRequest {
  const body = validate(schema, json);
  return {
    endpoint: 'responses',
    body,
    model: typeof body.model === 'string' ? body.model : '',
    stream: body.stream === true,
    // The Responses API always streams its usage, in the terminal event.
    includeUsage: false,
    split: responsesSplit,
  };
}

function bypass({ body }: ParsedRequest): string | undefined {
  if (body.previous_response_id != null) return 'previous-response-id';
  if (body.conversation != null) return 'conversation';
  if (body.background === true) return 'background';
  // A stored prompt without a pinned version follows whatever its owner edits it to: its body keys nothing stable.
  const prompt = body.prompt as { version?: unknown } | null | undefined;
  if (prompt != null && (prompt.version === undefined || prompt.version === null)) return 'prompt-unversioned';
  // Tools whose answers come from state that lives on past the request: a remote MCP server's, or an existing
  // code-interpreter container's files (a container given by its id).
  const tools = Array.isArray(body.tools) ? (body.tools as Array<{ type?: unknown; container?: unknown }>) : [];
  if (tools.some((t) => t?.type === 'mcp')) return 'mcp';
  if (tools.some((t) => t?.type === 'code_interpreter' && typeof t.container === 'string')) return 'container';
  return undefined;
}

/**
 * Complete: `completed`, or `incomplete` because it reached `max_output_tokens` (in the scope, so it recurs, like
 * chat's finish_reason "length"). Never `failed`, `cancelled`, `queued`, `in_progress`, nor incomplete for any other
 * reason (a content filter).
 */
export function isCompleteResponse(value: unknown): value is Response {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<Response>;
  if (r.object !== 'response' || typeof r.id !== 'string' || !Array.isArray(r.output) || r.error != null) return false;
  if (!r.output.every((o) => typeof o === 'object' && o !== null && typeof (o as OutputItem).type === 'string')) return false;
  return r.status === 'completed' || (r.status === 'incomplete' && r.incomplete_details?.reason === 'max_output_tokens');
}

/** What the answer says: its messages' text and refusals, and its function calls as name(arguments). */
function answerText(answer: unknown): string {
  const output = (answer as Partial<Response> | null)?.output;
  if (!Array.isArray(output)) return '';
  const out: string[] = [];
  for (const o of output) {
    if (o.type === 'message' && Array.isArray(o.content)) {
      for (const p of o.content as Array<{ text?: unknown; refusal?: unknown }>) {
        if (typeof p?.text === 'string') out.push(p.text);
        else if (typeof p?.refusal === 'string') out.push(p.refusal);
      }
    } else if (o.type === 'function_call') out.push(`${String(o.name)}(${String(o.arguments)})`);
  }
  return out.join(' ');
}

export const RESPONSES: WireApi = {
  endpoint: 'responses',
  upstream: 'openai',
  errors: OPENAI_ERRORS,
  parse,
  bypass,
  storable: isCompleteResponse,
  stream: {
    assemble: () => new ResponsesAssembly(),
    replay: (answer) => responseToEvents(answer as Response),
  },
  // input_tokens counts what the upstream read from its own prompt cache (input_tokens_details.cached_tokens) too.
  usage: (answer) => {
    const u = (answer as Response).usage;
    const details = u?.input_tokens_details as { cached_tokens?: unknown } | null | undefined;
    const cached = tokenCount(details?.cached_tokens);
    return { input: Math.max(0, tokenCount(u?.input_tokens) - cached), output: tokenCount(u?.output_tokens), cachedInput: cached };
  },
  answerText,
};
