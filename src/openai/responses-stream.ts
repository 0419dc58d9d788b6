/**
 * @module openai/responses-stream: the Responses API's typed SSE events, both ways. A stream folds into the response
 * its terminal event carries (`response.completed`, or `response.incomplete`): that event holds the whole response,
 * so the deltas before it need no reassembly. A stored response replays as the events the API sends, in its order
 * and with consecutive `sequence_number`s, so that the SDKs' stream helpers build the same response from them.
 */
import type { StreamAssembly } from '../cache/wire.js';
import type { OutputItem, Response } from './responses.js';

/** Events that end a stream with no answer to keep. */
const FAILED = new Set(['error', 'response.failed', 'response.cancelled']);

export class ResponsesAssembly implements StreamAssembly {
  private final: unknown;
  private failed = false;
  private last = -1;
  /** output items the stream announced (output_index + 1 of the highest): the terminal response must hold as many */
  private items = 0;

  add(data: string, event: string): void {
    if (this.failed) return;
    let ev: { type?: unknown; sequence_number?: unknown; response?: unknown; output_index?: unknown };
    try {
      ev = JSON.parse(data) as typeof ev;
    } catch {
      this.failed = true;
      return;
    }
    if (typeof ev !== 'object' || ev === null) {
      this.failed = true;
      return;
    }
    const type = typeof ev.type === 'string' ? ev.type : event;
    // Events out of order, or any after the end: this is not one clean stream.
    const seq = ev.sequence_number;
    if (this.final !== undefined || (typeof seq === 'number' && seq <= this.last)) this.failed = true;
    if (typeof seq === 'number') this.last = seq;
    if (typeof ev.output_index === 'number' && ev.output_index >= this.items) this.items = ev.output_index + 1;
    if (FAILED.has(type)) this.failed = true;
    else if (type === 'response.completed' || type === 'response.incomplete') this.final = ev.response;
  }

  /**
   * The terminal event's response; the caller checks it is one worth storing (WireApi.storable). OpenAI's terminal
   * event carries every output item; a compatible upstream whose terminal event holds fewer items than it streamed
   * would have the shorter answer stored, so that is no answer to keep.
   */
  complete(): unknown {
    if (this.failed || this.final === undefined) return undefined;
    const output = (this.final as { output?: unknown } | null)?.output;
    return Array.isArray(output) && output.length >= this.items ? this.final : undefined;
  }
}

type Fields = Record<string, unknown>;

/** The events the API sends for `r`, as SSE text. */
export function responseToEvents(r: Response): string {
  const out: string[] = [];
  let seq = 0;
  const emit = (type: string, fields: Fields) => out.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`);

  const snapshot: Fields = { ...r, status: 'in_progress', output: [], usage: null, error: null, incomplete_details: null };
  if ('completed_at' in r) snapshot.completed_at = null;
  emit('response.created', { response: snapshot });
  emit('response.in_progress', { response: snapshot });
  r.output.forEach((item, output_index) => itemEvents(emit, item, output_index));
  emit(r.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: r });
  return out.join('');
}

type Emit = (type: string, fields: Fields) => void;

function itemEvents(emit: Emit, item: OutputItem, output_index: number): void {
  const at = { item_id: item.id, output_index };
  const added = (start: Fields) => emit('response.output_item.added', { output_index, item: { ...item, ...start } });
  switch (item.type) {
    case 'message': {
      added({ status: 'in_progress', content: [] });
      const parts = Array.isArray(item.content) ? (item.content as Fields[]) : [];
      parts.forEach((part, content_index) => messagePartEvents(emit, { ...at, content_index }, part));
      break;
    }
    case 'function_call':
      added({ status: 'in_progress', arguments: '' });
      emit('response.function_call_arguments.delta', { ...at, delta: item.arguments });
      emit('response.function_call_arguments.done', { ...at, arguments: item.arguments });
      break;
    case 'custom_tool_call':
      added({ status: 'in_progress', input: '' });
      emit('response.custom_tool_call_input.delta', { ...at, delta: item.input });
      emit('response.custom_tool_call_input.done', { ...at, input: item.input });
      break;
    case 'reasoning': {
      const summary = Array.isArray(item.summary) ? (item.summary as Fields[]) : [];
      const content = Array.isArray(item.content) ? (item.content as Fields[]) : undefined;
      added({ summary: [], ...(content && { content: [] }) });
      summary.forEach((part, summary_index) => {
        const where = { ...at, summary_index };
        emit('response.reasoning_summary_part.added', { ...where, part: { ...part, text: '' } });
        emit('response.reasoning_summary_text.delta', { ...where, delta: part.text });
        emit('response.reasoning_summary_text.done', { ...where, text: part.text });
        emit('response.reasoning_summary_part.done', { ...where, part });
      });
      content?.forEach((part, content_index) => {
        const where = { ...at, content_index };
        emit('response.content_part.added', { ...where, part: { ...part, text: '' } });
        emit('response.reasoning_text.delta', { ...where, delta: part.text });
        emit('response.reasoning_text.done', { ...where, text: part.text });
        emit('response.content_part.done', { ...where, part });
      });
      break;
    }
    default:
      // A hosted tool's call (web search, file search, code interpreter…): it arrives whole, as it was stored.
      added({});
  }
  emit('response.output_item.done', { output_index, item });
}

function messagePartEvents(emit: Emit, where: Fields, part: Fields): void {
  if (part.type === 'output_text') {
    const annotations = Array.isArray(part.annotations) ? part.annotations : [];
    const logprobs = Array.isArray(part.logprobs) ? part.logprobs : [];
    emit('response.content_part.added', { ...where, part: { ...part, text: '', annotations: [], ...(Array.isArray(part.logprobs) && { logprobs: [] }) } });
    emit('response.output_text.delta', { ...where, delta: part.text, logprobs });
    annotations.forEach((annotation: unknown, annotation_index) => emit('response.output_text.annotation.added', { ...where, annotation_index, annotation }));
    emit('response.output_text.done', { ...where, text: part.text, logprobs });
  } else if (part.type === 'refusal') {
    emit('response.content_part.added', { ...where, part: { ...part, refusal: '' } });
    emit('response.refusal.delta', { ...where, delta: part.refusal });
    emit('response.refusal.done', { ...where, refusal: part.refusal });
  } else {
    emit('response.content_part.added', { ...where, part });
  }
  emit('response.content_part.done', { ...where, part });
}
