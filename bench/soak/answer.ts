/**
 * @module bench/soak/answer: the answer the soak's fake upstream gives, which says what it was asked, and its
 * parser, which says whether a text is such an answer in full.
 *
 *   answer for tenant=<credential> scope=<model+system id> q=<question id> call=<upstream call id>[ nostore=1] | <24 words> | end=<id>
 *
 * The words are derived from tenant, scope and question, and `end` is an id of everything before it, so a text
 * cut anywhere, or spliced from two answers, does not parse as complete. `nostore=1` marks an answer to a request
 * sent with `Cache-Control: no-store`: such an answer must never come back from the cache.
 */
import { createHash } from 'node:crypto';
import { id10 } from './pool.js';

export interface AnswerFields {
  tenant: string;
  scope: string;
  q: string;
  call: string;
  nostore: boolean;
}

const VOCAB = (
  'amber basil cedar delta ember fjord garnet harbor indigo juniper kelp lagoon meadow nectar orchid pebble quartz ' +
  'raven saffron tundra umber velvet willow xenon yarrow zephyr anchor beacon canyon dune'
).split(' ');

function words(tenant: string, scope: string, q: string): string[] {
  const h = createHash('sha256').update(`${tenant}\u0000${scope}\u0000${q}`).digest();
  return Array.from({ length: 24 }, (_, i) => VOCAB[h[i]! % VOCAB.length]!);
}

export function answerText(a: AnswerFields): string {
  const body = `answer for tenant=${a.tenant} scope=${a.scope} q=${a.q} call=${a.call}${a.nostore ? ' nostore=1' : ''} | ${words(a.tenant, a.scope, a.q).join(' ')} |`;
  return `${body} end=${id10(body)}`;
}

/** The answer cut into stream deltas of about three words (the spaces kept, so the deltas join back exactly). */
export function deltas(text: string): string[] {
  return text.match(/(?:\S+\s*){1,3}/g) ?? [text];
}

const FULL = /^answer for tenant=(\S+) scope=(\S+) q=(\S+) call=(\S+)( nostore=1)? \| ([a-z ]+) \| end=([0-9a-f]{10})$/;
const HEAD = /^answer for tenant=(\S+) scope=(\S+) q=(\S+) /;

export type Parsed =
  | { kind: 'full'; fields: AnswerFields }
  /** not a complete answer; `fields` when at least its head (tenant, scope, question) arrived */
  | { kind: 'partial'; fields?: Pick<AnswerFields, 'tenant' | 'scope' | 'q'> }
  | { kind: 'foreign' };

/** Whether `text` is one whole answer, a part of one, or something else. */
export function parseAnswer(text: string): Parsed {
  const m = FULL.exec(text);
  if (m) {
    const [, tenant, scope, q, call, nostore, ws, end] = m as unknown as string[];
    const body = text.slice(0, text.length - ' end='.length - 10);
    if (id10(body) === end && ws === words(tenant!, scope!, q!).join(' ')) return { kind: 'full', fields: { tenant: tenant!, scope: scope!, q: q!, call: call!, nostore: !!nostore } };
  }
  if (text === '' || 'answer for '.startsWith(text) || text.startsWith('answer for ')) {
    const h = HEAD.exec(text);
    return { kind: 'partial', ...(h && { fields: { tenant: h[1]!, scope: h[2]!, q: h[3]! } }) };
  }
  return { kind: 'foreign' };
}
