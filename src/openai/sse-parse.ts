/**
 * @module openai/sse-parse: an incremental Server-Sent Events parser.
 * Push-based so it can sit inside a TransformStream without buffering the client's bytes.
 * Follows https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private buf = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  private sawCR = false;

  /** Feed bytes; returns the events completed by them. Multi-byte characters may be split across calls. */
  push(chunk: Uint8Array): SseEvent[] {
    return this.feed(this.decoder.decode(chunk, { stream: true }));
  }

  /** Flush at end of stream. An event without its blank line is incomplete and dropped, per spec. */
  end(): SseEvent[] {
    const out = this.feed(this.decoder.decode());
    this.buf = '';
    return out;
  }

  private feed(text: string): SseEvent[] {
    const out: SseEvent[] = [];
    let s = this.buf + text;
    if (s === '') return out;
    // A CR at the very end of the last chunk may be followed by LF in the next: skip that LF.
    if (this.sawCR && s.startsWith('\n')) s = s.slice(1);
    this.sawCR = false;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(s.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < s.length) {
          if (s.charCodeAt(i + 1) === 10) i++;
        } else {
          this.sawCR = true;
        }
      }
      start = i + 1;
    }
    this.buf = s.slice(start);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        out.push({ event: this.event || 'message', data: this.data.join('\n'), ...(this.id !== undefined && { id: this.id }) });
      }
      this.data = [];
      this.event = '';
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ":" comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id') this.id = value;
  }
}
