/** @module openai/sse-serialize: SSE framing for replayed streams. */

const encoder = new TextEncoder();

/** One `data:` event carrying a JSON value. */
export function sseData(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** OpenAI's end-of-stream marker. */
export const SSE_DONE = 'data: [DONE]\n\n';

/** A finished list of SSE frames as one byte stream. */
export function sseStream(frames: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(encoder.encode(frames.join('')));
      controller.close();
    },
  });
}
