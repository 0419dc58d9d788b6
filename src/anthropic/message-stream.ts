/**
 * @module anthropic/message-stream: Anthropic's SSE events, both ways. A stream (`message_start`, then per content
 * block `content_block_start`, deltas, `content_block_stop`, then `message_delta` and `message_stop`) folds into the
 * message the JSON API would have sent, tool inputs parsed from their `input_json_delta` fragments. A stored message
 * replays as those events, so that the SDKs' `messages.stream()` builds the same message from them.
 */
import type { StreamAssembly } from '../cache/wire.js';
import type { ContentBlock, Message } from './messages.js';

type Fields = Record<string, unknown>;

/** Blocks whose input streams as JSON fragments. */
const JSON_INPUT = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use']);

export class MessageAssembly implements StreamAssembly {
  private message: Message | undefined;
  private readonly json = new Map<number, string>();
  /** the block started and not yet stopped: blocks stream one after another */
  private open: number | undefined;
  private done = false;
  private failed = false;

  add(data: string, event: string): void {
    if (this.failed) return;
    let ev: Fields;
    try {
      ev = JSON.parse(data) as Fields;
    } catch {
      this.failed = true;
      return;
    }
    if (typeof ev !== 'object' || ev === null || this.done) {
      this.failed = true;
      return;
    }
    const type = typeof ev.type === 'string' ? ev.type : event;
    if (type === 'ping') return;
    if (type === 'message_start') {
      if (this.message || typeof ev.message !== 'object' || ev.message === null) this.failed = true;
      else this.message = { ...(ev.message as Message), content: [] };
      return;
    }
    const m = this.message;
    // Anything before message_start, an error event, or an event this does not know how to fold: nothing to store.
    if (!m) this.failed = true;
    else if (type === 'content_block_start') this.start(m, ev);
    else if (type === 'content_block_delta') this.delta(m, ev);
    else if (type === 'content_block_stop') this.stop(m, ev);
    else if (type === 'message_delta') messageDelta(m, ev);
    // A block never stopped is a block never finished (a tool input not yet parsed): the message is not whole.
    else if (type === 'message_stop') this.done = this.open === undefined && !this.failed;
    else this.failed = true;
  }

  private start(m: Message, ev: Fields): void {
    const index = ev.index;
    const block = ev.content_block as ContentBlock | undefined;
    if (index !== m.content.length || this.open !== undefined || typeof block !== 'object' || block === null || typeof block.type !== 'string') {
      this.failed = true;
      return;
    }
    this.open = index;
    m.content.push({ ...block });
    if (JSON_INPUT.has(block.type)) this.json.set(index, '');
  }

  private delta(m: Message, ev: Fields): void {
    const index = ev.index as number;
    const b = m.content[index];
    const d = ev.delta as Fields | undefined;
    if (!b || index !== this.open || typeof d !== 'object' || d === null) {
      this.failed = true;
      return;
    }
    // Each delta fits one kind of block; one that does not is a stream this cannot fold as the SDKs would.
    if (d.type === 'text_delta' && b.type === 'text' && typeof d.text === 'string') b.text = String(b.text ?? '') + d.text;
    else if (d.type === 'citations_delta' && b.type === 'text') b.citations = [...(Array.isArray(b.citations) ? b.citations : []), d.citation];
    else if (d.type === 'input_json_delta' && typeof d.partial_json === 'string' && this.json.has(index)) this.json.set(index, this.json.get(index)! + d.partial_json);
    else if (d.type === 'thinking_delta' && b.type === 'thinking' && typeof d.thinking === 'string') b.thinking = String(b.thinking ?? '') + d.thinking;
    else if (d.type === 'signature_delta' && b.type === 'thinking' && typeof d.signature === 'string') b.signature = d.signature;
    else this.failed = true;
  }

  private stop(m: Message, ev: Fields): void {
    const index = ev.index as number;
    const b = m.content[index];
    const json = this.json.get(index);
    if (!b || index !== this.open) this.failed = true;
    else if (json !== undefined) {
      // A tool call with no arguments streams no fragment: its input is {}.
      try {
        b.input = json === '' ? {} : (JSON.parse(json) as unknown);
      } catch {
        this.failed = true;
      }
    }
    this.open = undefined;
  }

  complete(): unknown {
    return this.done && !this.failed ? this.message : undefined;
  }
}

/** The stop reason and the final usage; usage counters are totals, so a present one replaces the start's. */
function messageDelta(m: Message, ev: Fields): void {
  const d = (ev.delta ?? {}) as Fields;
  m.stop_reason = (d.stop_reason as string | null | undefined) ?? null;
  m.stop_sequence = (d.stop_sequence as string | null | undefined) ?? null;
  for (const k of Object.keys(d)) if (k !== 'stop_reason' && k !== 'stop_sequence' && d[k] != null) m[k] = d[k];
  const u = ev.usage as Fields | undefined;
  if (u && typeof u === 'object') {
    const usage: Fields = { ...(m.usage ?? {}) };
    for (const k of Object.keys(u)) if (u[k] != null) usage[k] = u[k];
    m.usage = usage;
  }
}

/** The events Anthropic sends for `m`, as SSE text. */
export function messageToEvents(m: Message): string {
  const out: string[] = [];
  const emit = (type: string, fields: Fields) => out.push(`event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`);
  const { stop_reason, stop_sequence, usage, content, ...rest } = m;
  // What message_delta settles: the SDKs copy `stop_details` from it as it is (null included), `container` if set.
  const extra: Fields = {};
  if ('stop_details' in rest) extra.stop_details = rest.stop_details;
  if (rest.container != null) extra.container = rest.container;
  const head: Fields = { ...rest, content: [], stop_reason: null, stop_sequence: null, usage: usage ?? {} };
  if ('stop_details' in rest) head.stop_details = null;
  emit('message_start', { message: head });
  content.forEach((block, index) => {
    if (block.type === 'text') {
      emit('content_block_start', { index, content_block: { ...block, text: '', ...(Array.isArray(block.citations) && { citations: [] }) } });
      if (block.text) emit('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
      for (const citation of Array.isArray(block.citations) ? (block.citations as unknown[]) : []) emit('content_block_delta', { index, delta: { type: 'citations_delta', citation } });
    } else if (JSON_INPUT.has(block.type)) {
      emit('content_block_start', { index, content_block: { ...block, input: {} } });
      emit('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input ?? {}) } });
    } else if (block.type === 'thinking') {
      emit('content_block_start', { index, content_block: { ...block, thinking: '', signature: '' } });
      emit('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: block.thinking } });
      emit('content_block_delta', { index, delta: { type: 'signature_delta', signature: block.signature } });
    } else {
      // Redacted thinking, a server tool's result…: the API sends these whole in their start event.
      emit('content_block_start', { index, content_block: block });
    }
    emit('content_block_stop', { index });
  });
  emit('message_delta', { delta: { stop_reason, stop_sequence: stop_sequence ?? null, ...extra }, usage: usage ?? {} });
  emit('message_stop', {});
  return out.join('');
}
