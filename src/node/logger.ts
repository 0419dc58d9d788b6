/**
 * @module node/logger: pino, writing JSON lines, or readable lines through pino-pretty on a terminal.
 * Prompts and credentials are never passed to the logger; redaction is a second line of defence.
 */
import pino from 'pino';
import pretty from 'pino-pretty';
import type { Logger } from '../observe/logger.js';

export type LogFormat = 'auto' | 'json' | 'pretty';

const REDACT = ['authorization', 'headers.authorization', 'headers["api-key"]', 'apiKey'];
/** Fields every line has, which a readable line leaves out. */
const FRAME = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

/** One readable line: a request as `POST /v1/chat/completions 200 HIT exact 1.2 ms`, anything else as `msg k=v …`. */
export function readableLine(log: Record<string, unknown>): string {
  if (log.msg === 'request') {
    const parts = [log.method, log.path, log.status, log.cache, log.match, log.reason && `(${String(log.reason)})`];
    const ms = typeof log.ms === 'number' ? ` ${log.ms} ms` : '';
    return `${parts.filter((p) => p !== undefined && p !== '').join(' ')}${ms}`;
  }
  const fields = Object.entries(log)
    .filter(([k, v]) => !FRAME.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [String(log.msg ?? ''), ...fields].join(' ');
}

/**
 * @param format auto: pretty when stdout is a terminal, JSON otherwise (piped, or in a container)
 * @param destination where lines go @default stdout
 */
export function createLogger(level: string, format: LogFormat = 'auto', destination?: NodeJS.WritableStream): Logger & pino.Logger {
  const readable = format === 'pretty' || (format === 'auto' && destination === undefined && process.stdout.isTTY === true);
  const opts = { level, redact: REDACT };
  if (!readable) return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts);
  const stream = pretty({
    sync: true,
    colorize: destination === undefined && process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    hideObject: true,
    ignore: 'pid,hostname',
    messageFormat: (log) => readableLine(log),
    ...(destination && { destination }),
  });
  return pino(opts, stream);
}
