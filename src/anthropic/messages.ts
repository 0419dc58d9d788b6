/**
 * @module anthropic/messages: Anthropic's Messages API (`POST /v1/messages`) as the pipeline sees it (cache/wire.ts):
 * its body, where its query text is, and which answers are complete enough to store. Requests go to the Anthropic
 * upstream (--anthropic-upstream); `anthropic-version` and `anthropic-beta` change the answer, so they are keyed.
 */
import { z } from 'zod';
import { isRecord, lastTurnSplit } from '../cache/turn-split.js';
import type { ParsedRequest, QuerySplit, WireApi } from '../cache/wire.js';
import { validate } from '../openai/request.js';
import { tokenCount, type Saved } from '../observe/prices.js';
import { ANTHROPIC_ERRORS } from './errors.js';
import { MessageAssembly, messageToEvents } from './message-stream.js';

/** A message as Reprise reads it; every other field is kept as it came. */
export interface Message {
  id: string;
  type: 'message';
  role: string;
  content: ContentBlock[];
  stop_reason: string | null;
  stop_sequence?: string | null;
  usage?: Usage | null;
  [k: string]: unknown;
}

export interface ContentBlock {
  type: string;
  [k: string]: unknown;
}

export interface Usage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  [k: string]: unknown;
}

const block = z.looseObject({ type: z.string() });
const schema = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().min(1),
  messages: z.array(z.looseObject({ role: z.string().min(1), content: z.union([z.string(), z.array(block)]) })).min(1),
  system: z.union([z.string(), z.array(block)]).optional(),
  stream: z.boolean().optional(),
});

/**
 * The last user message's text blocks. A user message that carries a tool's result answers the assistant's tool
 * call: the result decides the answer, so such a turn is matched exactly (its text and the result in the scope).
 */
export const messagesSplit: QuerySplit = lastTurnSplit({
  field: 'messages',
  isUser: (m) => m.role === 'user',
  textType: 'text',
  stringPlaceholder: '<text>',
  exactOnly: (content) => content.some((b) => isRecord(b) && b.type === 'tool_result'),
});

function parse(json: unknown): ParsedRequest {
  const body = validate(schema, json);
  return { endpoint: 'messages', body, model: body.model as string, stream: body.stream === true, includeUsage: false, split: messagesSplit };
}

/**
 * Requests whose answer comes from state that lives on past them: an existing code-execution container (by its id),
 * or remote MCP servers. They go upstream untouched.
 */
function bypass({ body }: ParsedRequest): string | undefined {
  if (body.container != null) return 'container';
  if (Array.isArray(body.mcp_servers) && body.mcp_servers.length > 0) return 'mcp';
  return undefined;
}

/** Stop reasons of an answer that is whole for its parameters; never `pause_turn` (a turn to resume), `refusal`, or none. */
const COMPLETE_STOP = new Set(['end_turn', 'stop_sequence', 'max_tokens', 'tool_use']);

export function isCompleteMessage(value: unknown): value is Message {
  if (!isRecord(value)) return false;
  if (value.type !== 'message' || typeof value.id !== 'string' || !Array.isArray(value.content)) return false;
  if (!value.content.every((b) => isRecord(b) && typeof b.type === 'string')) return false;
  return typeof value.stop_reason === 'string' && COMPLETE_STOP.has(value.stop_reason);
}

/** What the answer says: its text, and its tool calls as name(input). */
function answerText(answer: unknown): string {
  const content = (answer as Partial<Message> | null)?.content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b) => (b.type === 'text' ? String(b.text) : b.type === 'tool_use' ? `${String(b.name)}(${JSON.stringify(b.input)})` : ''))
    .filter(Boolean)
    .join(' ');
}

/** What the answer cost upstream: input (written to the prompt cache or not), output, and prompt-cache reads apart. */
function usage(answer: unknown): Saved {
  const u = (answer as Message).usage;
  return { input: tokenCount(u?.input_tokens) + tokenCount(u?.cache_creation_input_tokens), output: tokenCount(u?.output_tokens), cachedInput: tokenCount(u?.cache_read_input_tokens) };
}

export const MESSAGES: WireApi = {
  endpoint: 'messages',
  upstream: 'anthropic',
  errors: ANTHROPIC_ERRORS,
  scopeHeaders: ['anthropic-version', 'anthropic-beta'],
  parse,
  bypass,
  storable: isCompleteMessage,
  stream: {
    assemble: () => new MessageAssembly(),
    replay: (answer) => messageToEvents(answer as Message),
  },
  usage,
  answerText,
};
