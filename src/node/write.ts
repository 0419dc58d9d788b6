/** @module node/write: a Reply or a streamed head, written to a ServerResponse. */
import type { ServerResponse } from 'node:http';
import type { HeaderList, Reply } from '../http/types.js';

function flat(headers: HeaderList, extra?: [string, string]): string[] {
  const out: string[] = [];
  for (const [name, value] of headers) out.push(name, value);
  if (extra) out.push(extra[0], extra[1]);
  return out;
}

/** The head of a streamed answer; throws if a header is one Node refuses to send. */
export function writeHead(res: ServerResponse, status: number, headers: HeaderList): void {
  res.writeHead(status, flat(headers));
}

/** A whole reply in one write, with its Content-Length. */
export function writeReply(res: ServerResponse, reply: Reply): void {
  const { body } = reply;
  if (body === null) {
    res.writeHead(reply.status, flat(reply.headers));
    res.end();
    return;
  }
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(reply.status, flat(reply.headers, ['content-length', String(bytes.byteLength)]));
  res.end(bytes);
}
