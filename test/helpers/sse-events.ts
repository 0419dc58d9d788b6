/** @module test/helpers/sse-events: SSE text as Reprise's own parser reads it, and a client that keeps its last response's headers. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type OpenAI from 'openai';
import { SseParser, type SseEvent } from '../../src/openai/sse-parse.js';

export interface ParsedEvent<T> extends SseEvent {
  json: T;
}

/** `sse` through the SSE parser, fed in pieces cut at `cuts` (byte offsets, any order), each event's data parsed as JSON. */
export function parseSse<T = Record<string, unknown> & { type: string }>(sse: string, cuts: number[] = []): Array<ParsedEvent<T>> {
  const bytes = new TextEncoder().encode(sse);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parser = new SseParser();
  const events: SseEvent[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    events.push(...parser.push(bytes.subarray(from, to)));
    from = to;
  }
  events.push(...parser.end());
  return events.map((e) => ({ ...e, json: JSON.parse(e.data) as T }));
}

/**
 * The same client, whose fetch keeps the headers of the last response it got: the SDKs' stream helpers do not hand
 * out their response.
 */
export function keepingHeaders(client: OpenAI): { client: OpenAI; headers: () => Headers } {
  let seen: Headers | undefined;
  const keeping = client.withOptions({
    fetch: async (url: RequestInfo | URL, init?: RequestInit) => {
      const res = await fetch(url, init);
      seen = res.headers;
      return res;
    },
  });
  return { client: keeping, headers: () => seen! };
}

/** A tiny upstream that answers every request with the SSE text last given to `serve`, for an SDK's stream helper to read. */
export interface SseServer {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  serve(text: string): void;
  close(): Promise<void>;
}

export async function startSseServer(): Promise<SseServer> {
  let serving = '';
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // One connection per answer: a kept-alive socket left idle past the server's 5 s keep-alive (a long test in
      // between) can be closed just as the client reuses it, which fails the next request with "other side closed".
      res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'close' });
      res.end(serving);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serve: (text) => void (serving = text),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
