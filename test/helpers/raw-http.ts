/**
 * @module test/helpers/raw-http: one HTTP/1.1 exchange over a raw socket, for tests that need what a client library
 * hides or will not send (the header lines as written, Connection-listed headers, dot segments, chunked uploads).
 */
import { connect } from 'node:net';

/** A response as it came off the wire. */
export interface RawResponse {
  /** the whole exchange as bytes, in latin1 */
  raw: string;
  /** e.g. "HTTP/1.1 200 OK" */
  statusLine: string;
  status: number;
  /** every header line in order, names lower-cased, Date and Connection left out */
  lines: Array<[string, string]>;
  /** every value of `name`, joined with ", " as RFC 9110 §5.3 combines repeats; undefined if absent */
  header(name: string): string | undefined;
  /** the body, de-chunked when it came chunked */
  body: Buffer;
  /** the body as UTF-8 */
  text: string;
  /** the connection closed before the whole body (a chunked body without its last chunk, or no head at all) */
  cut: boolean;
}

/**
 * Send one request with `Connection: close` and read the response: until it is complete by its own framing (its
 * Content-Length, its last chunk, or no body for HEAD, 204 and 304), or until the server closes, whichever comes
 * first. (A server may keep the connection a while after a complete response despite `Connection: close`: workerd
 * does, for 5 s.) A Content-Length is added for a POST or a body, unless `headers` has a Transfer-Encoding (then
 * `body` is sent as given, framing included). It never rejects on a cut connection: `cut` says so, and `status` is
 * 0 when no head came.
 */
export function exchange(url: string, method: string, path: string, headers: Array<[string, string]>, body = ''): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const bytes = Buffer.from(body);
  const head = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...headers.map(([k, v]) => `${k}: ${v}`)];
  const chunked = headers.some(([k]) => k.toLowerCase() === 'transfer-encoding');
  if ((body !== '' || method === 'POST') && !chunked) head.push(`Content-Length: ${bytes.length}`);
  head.push('Connection: close', '', '');
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve(parse(Buffer.concat(chunks), method));
    };
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (!complete(Buffer.concat(chunks), method)) return;
      finish();
      socket.destroy();
    });
    // A reset is how a cut response looks: what came before it is the answer.
    socket.on('error', () => {});
    socket.on('close', finish);
    socket.write(Buffer.concat([Buffer.from(head.join('\r\n')), bytes]));
  });
}

/** Whether `all` holds a whole final response, by its framing; false for one that ends only when the connection does. */
function complete(all: Buffer, method: string): boolean {
  let start = 0;
  for (;;) {
    const end = all.indexOf('\r\n\r\n', start);
    if (end < 0) return false;
    const headText = all.subarray(start, end).toString('latin1');
    const status = Number(headText.slice(9, 12));
    if (status >= 100 && status < 200) {
      start = end + 4;
      continue;
    }
    if (method === 'HEAD' || status === 204 || status === 304) return true;
    const field = (name: string) => new RegExp(`\r\n${name}:[ \t]*([^\r]*)`, 'i').exec(headText)?.[1]?.trim();
    const bodyBytes = all.subarray(end + 4);
    if (field('transfer-encoding')?.toLowerCase() === 'chunked') return lastChunkIn(bodyBytes);
    const length = field('content-length');
    return length !== undefined && bodyBytes.length >= Number(length);
  }
}

/** Whether a chunked body has come to its last (zero-size) chunk and the end of its trailers. */
function lastChunkIn(b: Buffer): boolean {
  let at = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', at);
    if (eol < 0) return false;
    const size = parseInt(b.subarray(at, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) return false;
    if (size === 0) {
      const trailers = b.subarray(eol + 2);
      return trailers.subarray(0, 2).toString('latin1') === '\r\n' || trailers.includes('\r\n\r\n');
    }
    at = eol + 2 + size + 2;
    if (at > b.length) return false;
  }
}

function parse(all: Buffer, method: string): RawResponse {
  // Interim 1xx answers (100 Continue) come before the real one.
  let start = 0;
  while (/^HTTP\/1\.1 1\d\d /.test(all.subarray(start, start + 13).toString('latin1'))) {
    const next = all.indexOf('\r\n\r\n', start);
    if (next < 0) break;
    start = next + 4;
  }
  const whole = all.subarray(start);
  const end = whole.indexOf('\r\n\r\n');
  if (end < 0) {
    const none = () => undefined;
    return { raw: all.toString('latin1'), statusLine: '', status: 0, lines: [], header: none, body: Buffer.alloc(0), text: '', cut: true };
  }
  const [statusLine = '', ...headerLines] = whole.subarray(0, end).toString('latin1').split('\r\n');
  const every: Array<[string, string]> = headerLines.map((l) => {
    const colon = l.indexOf(':');
    return [l.slice(0, colon).toLowerCase(), l.slice(colon + 1).trim()];
  });
  const value = (name: string) => {
    const vs = every.filter(([n]) => n === name).map(([, v]) => v);
    return vs.length ? vs.join(', ') : undefined;
  };
  let body = whole.subarray(end + 4);
  let cut = false;
  if (method !== 'HEAD' && value('transfer-encoding')?.toLowerCase() === 'chunked') ({ body, cut } = dechunk(body));
  return {
    raw: all.toString('latin1'),
    statusLine,
    status: Number(statusLine.split(' ')[1]),
    lines: every.filter(([n]) => n !== 'date' && n !== 'connection'),
    header: value,
    body,
    text: body.toString('utf8'),
    cut,
  };
}

/** A chunked body's bytes, and whether it ended before its last (zero-size) chunk. */
function dechunk(b: Buffer): { body: Buffer; cut: boolean } {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', at);
    if (eol < 0) return { body: Buffer.concat(out), cut: true };
    const size = parseInt(b.subarray(at, eol).toString('latin1'), 16);
    if (size === 0) return { body: Buffer.concat(out), cut: false };
    out.push(b.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}
