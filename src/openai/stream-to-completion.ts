/** @module openai/stream-to-completion: fold `chat.completion.chunk` / `text_completion` events into one response. */
import type { ChatChoice, ChatCompletion, Completion, TextChoice, TextCompletion, ToolCall, Usage } from './completion.js';
import { isCompleteCompletion } from './completion.js';

interface ChunkChoice {
  index?: number;
  delta?: {
    role?: string;
    content?: string | null;
    refusal?: string | null;
    tool_calls?: ToolCall[];
    function_call?: { name?: string; arguments?: string };
  };
  text?: string;
  logprobs?: { content?: unknown[] | null; refusal?: unknown[] | null } | null;
  finish_reason?: string | null;
}

interface Chunk {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  choices?: ChunkChoice[];
  usage?: Usage | null;
  system_fingerprint?: string | null;
  service_tier?: string | null;
  error?: unknown;
}

/**
 * Accumulates stream events. `complete()` returns the assembled response only if the stream reached
 * `[DONE]`, carried no error event, and every choice has a finish reason.
 */
export class StreamAssembler {
  private head: Chunk = {};
  private kind: 'chat' | 'text' | undefined;
  private readonly chat = new Map<number, ChatChoice>();
  private readonly text = new Map<number, TextChoice>();
  private usage: Usage | null | undefined;
  private done = false;
  private failed = false;

  /** Feed one SSE `data` payload. */
  add(data: string): void {
    if (this.failed || this.done) return;
    if (data === '[DONE]') {
      this.done = true;
      return;
    }
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      this.failed = true;
      return;
    }
    if (typeof chunk !== 'object' || chunk === null || chunk.error !== undefined) {
      this.failed = true;
      return;
    }
    if (this.head.id === undefined) this.head = chunk;
    if (chunk.usage) this.usage = chunk.usage;
    if (chunk.system_fingerprint) this.head.system_fingerprint = chunk.system_fingerprint;
    if (chunk.object === 'text_completion') this.kind = 'text';
    else if (chunk.object === 'chat.completion.chunk') this.kind = 'chat';
    if (chunk.choices != null && !Array.isArray(chunk.choices)) {
      this.failed = true;
      return;
    }
    for (const c of chunk.choices ?? []) {
      if (typeof c !== 'object' || c === null) {
        this.failed = true;
        return;
      }
      if (this.kind === 'text') this.addText(c);
      else this.addChat(c);
    }
  }

  private addChat(c: ChunkChoice): void {
    const index = c.index ?? 0;
    let choice = this.chat.get(index);
    if (!choice) {
      choice = { index, message: { role: 'assistant', content: null }, logprobs: null, finish_reason: null };
      this.chat.set(index, choice);
    }
    const m = choice.message;
    const d = c.delta ?? {};
    if (d.role) m.role = d.role;
    if (typeof d.content === 'string') m.content = (m.content ?? '') + d.content;
    if (typeof d.refusal === 'string') m.refusal = (m.refusal ?? '') + d.refusal;
    if (d.function_call) {
      const f = (m.function_call ??= {});
      if (d.function_call.name) f.name = (f.name ?? '') + d.function_call.name;
      if (d.function_call.arguments) f.arguments = (f.arguments ?? '') + d.function_call.arguments;
    }
    for (const tc of Array.isArray(d.tool_calls) ? d.tool_calls : []) {
      if (typeof tc !== 'object' || tc === null) continue;
      const calls = (m.tool_calls ??= []);
      const i = Number.isSafeInteger(tc.index) && tc.index! >= 0 ? tc.index! : calls.length;
      const call = (calls[i] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
      if (tc.id) call.id = tc.id;
      if (tc.type) call.type = tc.type;
      if (tc.function?.name) call.function!.name = (call.function!.name ?? '') + tc.function.name;
      if (tc.function?.arguments) call.function!.arguments = (call.function!.arguments ?? '') + tc.function.arguments;
    }
    if (Array.isArray(c.logprobs?.content)) {
      choice.logprobs ??= { content: [], refusal: null };
      const into = (choice.logprobs.content ??= []);
      for (const x of c.logprobs.content) into.push(x);
    }
    if (c.finish_reason) choice.finish_reason = c.finish_reason;
  }

  private addText(c: ChunkChoice): void {
    const index = c.index ?? 0;
    let choice = this.text.get(index);
    if (!choice) {
      choice = { index, text: '', logprobs: null, finish_reason: null };
      this.text.set(index, choice);
    }
    if (typeof c.text === 'string') choice.text += c.text;
    if (c.finish_reason) choice.finish_reason = c.finish_reason;
  }

  /** The whole response, or undefined when the stream was not complete and clean. */
  complete(): Completion | undefined {
    if (!this.done || this.failed) return undefined;
    const base = {
      id: this.head.id ?? '',
      created: this.head.created ?? 0,
      model: this.head.model ?? '',
      usage: this.usage ?? null,
      system_fingerprint: this.head.system_fingerprint ?? null,
    };
    const byIndex = <T extends { index: number }>(m: Map<number, T>) => [...m.values()].sort((a, b) => a.index - b.index);
    const out: Completion =
      this.kind === 'text'
        ? ({ ...base, object: 'text_completion', choices: byIndex(this.text) } satisfies TextCompletion)
        : ({
            ...base,
            object: 'chat.completion',
            choices: byIndex(this.chat),
            ...(this.head.service_tier != null && { service_tier: this.head.service_tier }),
          } satisfies ChatCompletion);
    return isCompleteCompletion(out) ? out : undefined;
  }
}
