/** @module routes/reply: small replies for Reprise's own routes (health, metrics, stats, feedback, admin). */
import type { Reply } from '../http/types.js';

export function jsonReply(status: number, value: unknown): Reply {
  return { status, headers: [['content-type', 'application/json']], body: JSON.stringify(value) };
}

export function textReply(status: number, text: string, contentType = 'text/plain; charset=utf-8'): Reply {
  return { status, headers: [['content-type', contentType]], body: text };
}
