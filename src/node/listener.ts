/**
 * @module node/listener: the Node front. node:http in (node/request-view.ts), the runtime-neutral handler
 * (handle.ts), and the outcome written out: a reply in one write, a forward over undici (node/forward.ts), a join
 * from the flight it shares. It builds no Web Request, Headers or AbortSignal per request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Outcome } from '../cache/outcome.js';
import type { Handler } from '../handle.js';
import { errorReply } from '../openai/errors.js';
import type { Logger } from '../observe/logger.js';
import { CLIENT_CLOSED, logRequest } from '../observe/request-log.js';
import { forwardNode } from './forward.js';
import { viewOf } from './request-view.js';
import { writeHead, writeReply } from './write.js';

export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

export function createListener(handler: Handler, deps: { dispatcher: Dispatcher; logger: Logger }): Listener {
  const { dispatcher, logger } = deps;

  function write(req: IncomingMessage, res: ServerResponse, outcome: Outcome, start: number): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const log = (status: number) => logRequest(logger, method, url, status, outcome.log, start);
    if ((res.destroyed || req.socket.destroyed) && outcome.kind !== 'forward') {
      // The client went away while its request was worked on (an embedding, a judge call): nobody is left to
      // answer. A share of a flight is let go. (A forward goes on for the joiners of its flight, if it has any:
      // forwardNode sees the client gone.)
      if (outcome.kind === 'join') outcome.detach();
      return log(CLIENT_CLOSED);
    }
    switch (outcome.kind) {
      case 'hit':
      case 'reject':
      case 'reply':
        writeReply(res, outcome.reply);
        return log(outcome.reply.status);
      case 'forward':
        return forwardNode(dispatcher, logger, req, res, outcome.call, outcome.exchange, log);
      case 'join': {
        writeHead(res, outcome.head.status, outcome.head.headers);
        log(outcome.head.status);
        res.on('close', () => {
          if (!res.writableFinished) outcome.detach();
        });
        const cut = (err: unknown) => {
          const tail = outcome.tail(err);
          if (tail && !res.destroyed) res.end(tail);
          else res.destroy();
        };
        // The flight cuts a joiner that falls too far behind (single-flight.ts Tap) by what waits in its buffer.
        outcome.attach({
          chunk: (b) => void res.write(b),
          backlog: () => res.writableLength,
          end: () => void res.end(),
          error: cut,
        });
      }
    }
  }

  return function reprise(req, res) {
    const start = performance.now();
    handler.handle(viewOf(req, start)).then(
      (outcome) => {
        try {
          write(req, res, outcome, start);
        } catch (err) {
          // A bug: answer what can still be answered, and never leave the client hanging.
          logger.error({ err: (err as Error).message, stack: (err as Error).stack }, 'unhandled error');
          if (!res.headersSent) writeReply(res, errorReply(err));
          else res.destroy();
        }
      },
      (err: unknown) => {
        logger.error({ err: (err as Error)?.message }, 'unhandled error');
        if (!res.headersSent) writeReply(res, errorReply(err));
      },
    );
  };
}
