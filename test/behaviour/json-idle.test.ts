/**
 * A JSON answer whose upstream goes quiet mid-body past --upstream-idle-timeout is cut (the client never takes it for
 * complete), and nothing is stored. Raw HTTP, so the cut is seen as the client sees it.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/node/server.js';
import { startFrontFor } from '../helpers/front.js';
import { bundledEmbedder } from '../helpers/harness.js';
import { exchange } from '../helpers/raw-http.js';

let server: Server;
const held: ServerResponse[] = [];
let r: Running;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"half an ans');
      held.push(res); // and nothing more
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  r = await startFrontFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, { embedder: bundledEmbedder() }, { 'upstream-idle-timeout': '300' });
});
afterAll(async () => {
  await r?.close();
  for (const res of held) res.destroy();
  await new Promise<void>((res) => server.close(() => res()));
});

describe('a JSON answer that goes quiet mid-body', () => {
  it('is cut, not ended cleanly, and not stored', async () => {
    const res = await exchange(r.url, 'POST', '/v1/chat/completions', [['authorization', 'Bearer sk-idle'], ['content-type', 'application/json']], JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Quiet upstream?' }] }));
    expect(res.status).toBe(200);
    expect(res.cut, `the half answer ended cleanly: ${res.text}`).toBe(true);
    expect(r.store.size()).toBe(0);
  });
});
