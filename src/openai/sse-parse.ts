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

/** Most characters an unfinished line and event may hold; past it the event is dropped. */
export const MAX_EVENT_CHARS = 16 * 1024 * 1024;

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private buf = '';
  private data: string[] = [];
  private dataChars = 0;
  private skipping = false;
  /** an event was dropped for being larger than the limit */
  overflowed = false;
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
    let s = text;
    if (s === '') return out;
    // A CR at the very end of the last chunk may be followed by LF in the next: skip that LF.
    if (this.sawCR && s.charCodeAt(0) === 10) s = s.slice(1);
    this.sawCR = false;
    let start = 0;
    // Only the new text is scanned: the unfinished line before it has no line end.
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.buf + s.slice(start, i);
      this.buf = '';
      this.line(line, out);
      if (c === 13) {
        if (i + 1 < s.length) {
          if (s.charCodeAt(i + 1) === 10) i++;
        } else {
          this.sawCR = true;
        }
      }
      start = i + 1;
    }
    if (!this.skipping) this.buf += s.slice(start);
    if (this.buf.length + this.dataChars > MAX_EVENT_CHARS) {
      this.buf = '';
      this.data = [];
      this.dataChars = 0;
      this.skipping = true;
      this.overflowed = true;
    }
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.skipping) {
        this.skipping = false;
      } else if (this.data.length > 0) {
        out.push({ event: this.event || 'message', data: this.data.join('\n'), ...(this.id !== undefined && { id: this.id }) });
      }
      this.data = [];
      this.dataChars = 0;
      this.event = '';
      return;
    }
    if (this.skipping) return;
    if (line.charCodeAt(0) === 58) return; // ":" comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.dataChars += value.length + 1;
    }
    else if (field === 'event') this.event = value;
    else if (field === 'id') this.id = value;
  }
}
