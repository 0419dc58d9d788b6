/**
 * @module bench/soak/verdict: what one response was, and whether it was right. Decided from what the client can
 * see, never guessed: the answer's own text (bench/soak/answer.ts), Reprise's X-Cache-* headers, and the fake
 * upstream's x-soak-* headers, which only a response that came from the upstream carries (a hit is built by Reprise
 * and has none; a joiner gets its leader's).
 *
 * WRONG (the answer must not have been served):
 * - a complete response (JSON body, or a stream that ends with [DONE]) whose content is not one whole answer:
 *   cut, spliced, malformed, or an error served as an answer. For a HIT that means a truncated answer was stored.
 * - content naming another tenant (credential) or another scope (model + system prompt) than the request's;
 * - content naming another question: for MISS, BYPASS and ERROR (upstream answered this request, or the identical
 *   request it joined) and HIT exact, the question must be this request's very text; a HIT semantic may answer
 *   any text of the same paraphrase group (same tenant and scope by the rules above), nothing else;
 * - a cached answer to a no-store request (nostore=1 in a HIT), or a no-store answer given to another request;
 * - a HIT for a request sent with Cache-Control: no-store or no-cache (Reprise documents both as "not read");
 * - a forwarded answer whose body names another upstream call than its head (bytes crossed between requests);
 * - a stream or JSON body that upstream broke or truncated (x-soak-fate), yet reached the client as complete;
 * - the wrong form (an event stream for a JSON request, or the reverse);
 * - (checked after the run, bench/soak/traffic.ts) a HIT whose answer came from an upstream call that did not end
 *   cleanly (errored, broken, truncated, or hung up by Reprise before its end).
 * A part of an answer (a client that hung up, a stream upstream broke) is checked too, as far as it goes: its
 * head must already name this tenant, scope and question.
 *
 * Reprise-caused failures (the request failed, and nothing the upstream did explains it): a connection error or a
 * status the upstream did not send; a body cut when the upstream sent it whole (or a HIT cut at all); a stream that
 * ends without [DONE] that the upstream did not truncate; no complete response within the timeout.
 */
import { parseAnswer } from './answer.js';
import type { Sent } from './client.js';
import { QUESTION_INDEX, type Scope, type Tenant } from './pool.js';

export interface Ask {
  tenant: Tenant;
  scope: Scope;
  scopeId: string;
  group: number;
  variant: number;
  text: string;
  qid: string;
  stream: boolean;
  usage: boolean;
  cache: 'default' | 'no-store' | 'no-cache';
  /** x-cache-ttl, when short-lived */
  ttl?: number;
  /** one of several identical requests sent at once */
  burst: boolean;
}

export interface Verdict {
  /** the row of the outcome table */
  outcome: string;
  /** X-Cache-Status with its match or reason, as Reprise said */
  cache: string;
  wrong?: string;
  failure?: string;
  /** the upstream call a HIT's answer came from, to check after the run */
  hitCall?: string;
  /** the call the response came from, for evidence */
  call?: string;
  /** the keep-alive race: a reset before any byte on a reused socket; the client retries once */
  retry?: boolean;
}

interface Body {
  content: string;
  /** JSON: parsed; stream: [DONE] seen */
  claimsComplete: boolean;
  finish?: string | null;
  errorEvent?: string;
  malformed?: string;
  form: 'json' | 'sse';
}

function readBody(s: Sent): Body {
  const sse = (s.headers['content-type'] ?? '').includes('text/event-stream');
  if (!sse) {
    try {
      const j = JSON.parse(s.body) as { choices?: Array<{ message?: { content?: unknown }; finish_reason?: string }> };
      const content = j.choices?.[0]?.message?.content;
      if (typeof content !== 'string') return { content: '', claimsComplete: true, malformed: `no choices[0].message.content: ${s.body.slice(0, 200)}`, form: 'json' };
      return { content, claimsComplete: true, finish: j.choices?.[0]?.finish_reason ?? null, form: 'json' };
    } catch {
      return { content: s.body.startsWith('{"id"') ? extractPartial(s.body) : '', claimsComplete: false, form: 'json' };
    }
  }
  const out: Body = { content: '', claimsComplete: false, form: 'sse' };
  // Only whole events count: a block after the last blank line may be cut.
  const blocks = s.body.split('\n\n');
  blocks.pop();
  for (const block of blocks) {
    for (const line of block.split('\n')) {
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') {
        out.claimsComplete = true;
        continue;
      }
      try {
        const j = JSON.parse(data) as { error?: unknown; choices?: Array<{ delta?: { content?: string }; finish_reason?: string | null }> };
        if (j.error) out.errorEvent = JSON.stringify(j.error).slice(0, 200);
        const c = j.choices?.[0];
        if (typeof c?.delta?.content === 'string') out.content += c.delta.content;
        if (c?.finish_reason) out.finish = c.finish_reason;
      } catch {
        out.malformed = `unreadable event: ${data.slice(0, 120)}`;
      }
    }
  }
  return out;
}

/** The answer text as the client assembled it (a stream's deltas joined), for evidence. */
export const contentOf = (s: Sent) => readBody(s).content;

/** The content of a JSON body cut short, as far as it goes (for the part check). */
function extractPartial(body: string): string {
  const m = /"content":"((?:[^"\\]|\\.)*)/.exec(body);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : '';
}

function cacheLabel(s: Sent): string {
  const status = s.headers['x-cache-status'] ?? '(none)';
  const extra = s.headers['x-cache-match'] ?? s.headers['x-cache-reason'];
  return extra ? `${status} ${extra}` : status;
}

/** The question a HIT semantic may answer: any of the same group; everything else only its own text. */
function questionOk(ask: Ask, q: string, semanticHit: boolean): boolean {
  if (!semanticHit) return q === ask.qid;
  return QUESTION_INDEX.get(q)?.[0] === ask.group;
}

function checkParts(ask: Ask, fields: { tenant: string; scope: string; q: string } | undefined, semanticHit: boolean): string | undefined {
  if (!fields) return undefined;
  if (fields.tenant !== ask.tenant.credential) return `another tenant's answer (tenant=${fields.tenant})`;
  if (fields.scope !== ask.scopeId) return `another scope's answer (scope=${fields.scope})`;
  if (!questionOk(ask, fields.q, semanticHit)) {
    const other = QUESTION_INDEX.get(fields.q);
    return `another question's answer (q=${fields.q}${other ? `, group ${other[0]} text ${other[1]}` : ', unknown text'})`;
  }
  return undefined;
}

export function judge(ask: Ask, s: Sent, attempt: number): Verdict {
  const cache = cacheLabel(s);
  const call = s.headers['x-soak-call'];
  const fate = s.headers['x-soak-fate'];
  const hit = s.headers['x-cache-status'] === 'HIT';
  const semanticHit = hit && s.headers['x-cache-match'] === 'semantic';
  const base = { cache, ...(call && { call }) };

  if (s.abortedByUs) {
    // What arrived before we hung up must still be ours.
    const part = s.status === 200 ? parseAnswer(readBody(s).content) : undefined;
    const wrong = part && part.kind !== 'foreign' ? checkParts(ask, part.fields, semanticHit) : undefined;
    return { ...base, outcome: `client abort (${s.abortedByUs})`, ...(wrong && { wrong }) };
  }
  if (s.status === undefined) {
    if (s.timedOut) return { ...base, outcome: 'Reprise failure', failure: `no response head within the timeout (${Math.round(s.ms)} ms)` };
    if (attempt === 0 && s.reusedSocket && /ECONNRESET|socket hang up/.test(s.error ?? '')) return { ...base, outcome: 'keep-alive race (retried)', retry: true };
    return { ...base, outcome: 'Reprise failure', failure: `connection error before the head: ${s.error}` };
  }
  if (s.status !== 200) {
    if (call && fate === 'error' && s.headers['x-soak-status'] === String(s.status)) return { ...base, outcome: `upstream ${s.status} passed through` };
    return { ...base, outcome: 'Reprise failure', failure: `status ${s.status} the upstream did not send: ${s.body.slice(0, 300)}` };
  }

  const body = readBody(s);
  const form = ask.stream ? 'sse' : 'json';
  if (body.form !== form) return { ...base, outcome: cache, wrong: `a ${body.form} answer to a ${form} request` };
  const parsed = parseAnswer(body.content);
  const fields = parsed.kind === 'foreign' ? undefined : parsed.fields;

  if (s.timedOut) return { ...base, outcome: 'Reprise failure', failure: `body not complete within the timeout (${s.body.length} bytes so far)` };
  const cut = !s.complete;
  const unfinished = form === 'sse' ? !body.claimsComplete : cut;
  if (cut || unfinished || body.errorEvent) {
    const wrong = checkParts(ask, fields, semanticHit);
    // Upstream broke or truncated this very answer (or the leader's, for a joiner): passed on faithfully.
    if (!hit && fate === 'break' && (cut || body.errorEvent)) return { ...base, outcome: 'upstream break passed through', ...(wrong && { wrong }) };
    if (!hit && fate === 'truncate' && !cut && unfinished) return { ...base, outcome: 'upstream truncation passed through', ...(wrong && { wrong }) };
    const how = cut ? `body cut after ${Buffer.byteLength(s.body)} bytes (${s.error ?? 'no error'})` : body.errorEvent ? `stream error event ${body.errorEvent}` : 'stream ended cleanly without [DONE]';
    return { ...base, outcome: 'Reprise failure', failure: `${how}; upstream fate: ${fate ?? '(a hit: no upstream)'}`, ...(wrong && { wrong }) };
  }

  // Complete, as far as the client can tell: it must be one whole, right answer.
  const verdict: Verdict = { ...base, outcome: cache };
  if (body.malformed) verdict.wrong = `malformed body claimed complete: ${body.malformed}`;
  else if (fate === 'break' || fate === 'truncate') verdict.wrong = `upstream ${fate === 'break' ? 'broke' : 'truncated'} this answer, yet it reached the client complete`;
  else if (parsed.kind !== 'full') verdict.wrong = `${hit ? 'a truncated or malformed answer served from the cache' : 'an incomplete answer claimed complete'}: ${JSON.stringify(body.content.slice(-120))}`;
  else {
    const f = parsed.fields;
    verdict.wrong = checkParts(ask, f, semanticHit);
    if (!verdict.wrong && hit && f.nostore) verdict.wrong = `a no-store answer served from the cache (call=${f.call})`;
    else if (!verdict.wrong && f.nostore !== (ask.cache === 'no-store') && !hit) verdict.wrong = `${f.nostore ? 'a no-store answer given to a request without no-store' : 'a no-store request got an answer made for another request'} (call=${f.call})`;
    else if (!verdict.wrong && hit && ask.cache !== 'default') verdict.wrong = `a HIT for a request sent with Cache-Control: ${ask.cache}`;
    else if (!verdict.wrong && !hit && call && f.call !== call) verdict.wrong = `the body is call ${f.call}'s, the head call ${call}'s`;
    else if (!verdict.wrong && body.finish !== 'stop') verdict.wrong = `finish_reason ${String(body.finish)}`;
    if (hit) verdict.hitCall = f.call;
  }
  if (!verdict.wrong) delete verdict.wrong;
  return verdict;
}
