/**
 * @module cache/judge: an LLM, through the upstream, decides borderline candidates (`--judge-model`). For operators
 * who will pay one short call to avoid a wrong hit: only candidates that passed the guards with a similarity
 * within `--judge-band` of the threshold are asked about, with the caller's own credentials. Anything but a clear
 * "same" (including an error or a timeout) counts as "different": the request then goes upstream as a miss.
 */
import { LRUCache } from 'lru-cache';
import type { RequestHeaders } from '../http/types.js';
import { upstreamBase, upstreamPath, type UpstreamBase } from '../upstream/call.js';
import { upstreamRequestHeaders } from '../upstream/headers.js';
import type { UpstreamFetch } from '../upstream/types.js';

export type JudgeVerdict = 'same' | 'different' | 'error';

export interface JudgeOptions {
  upstream: UpstreamFetch;
  /** the configured upstream base URL, with its path and any query, e.g. https://api.openai.com/v1 */
  upstreamUrl: string;
  model: string;
  /** ms the judge may take before its answer counts as "different" @default 10000 */
  timeoutMs?: number;
  /** verdicts remembered, by pair @default 10000 */
  memo?: number;
}

/** Characters of remembered pairs, at most: the texts are the memo's keys, and one may be long. */
const MEMO_CHARS = 8 * 1024 * 1024;

const INSTRUCTIONS =
  'You check a response cache. Decide whether request A and request B ask for the same thing, so that one correct ' +
  'answer to A is also a correct answer to B. Any difference in a number, date, version, name, unit, negation or ' +
  'direction makes them different. Reply with exactly one word: same or different.';

/** Decides whether a borderline candidate asks the same as the query (the LLM judge; the Worker's reranker). */
export interface PairJudge {
  /**
   * true: it can judge requests of every API. The LLM judge asks an OpenAI upstream with the caller's own
   * credentials, so it judges only OpenAI requests.
   */
  readonly anyApi?: boolean;
  judge(query: string, candidate: string, headers: RequestHeaders, tenant: string): Promise<JudgeVerdict>;
}

export class LlmJudge implements PairJudge {
  private readonly memo: LRUCache<string, 'same' | 'different'>;
  private readonly url: string;
  constructor(private readonly opts: JudgeOptions) {
    this.memo = new LRUCache({ max: opts.memo ?? 10_000, maxSize: MEMO_CHARS, sizeCalculation: (_v, k) => k.length });
    // As forwarding builds it: the base's path, then the route, then the base's query (Azure's api-version).
    const base: UpstreamBase = upstreamBase(opts.upstreamUrl);
    this.url = `${base.origin}${upstreamPath(base, '/v1/chat/completions')}`;
  }

  /**
   * Does `candidate` ask the same as `query`? `headers` are the client's request headers: the judge call is made
   * with the caller's credentials, like the request it stands in for. `tenant` is the caller's.
   */
  async judge(query: string, candidate: string, headers: RequestHeaders, tenant: string): Promise<JudgeVerdict> {
    // Remembered per tenant: a remembered verdict answers at once, and no caller may time another's questions.
    const key = `${tenant}\u0000${query}\u0000${candidate}`;
    const known = this.memo.get(key);
    if (known) return known;
    const body = JSON.stringify({
      model: this.opts.model,
      temperature: 0,
      max_tokens: 3,
      messages: [
        { role: 'system', content: INSTRUCTIONS },
        { role: 'user', content: `Request A:\n${candidate}\n\nRequest B:\n${query}` },
      ],
    });
    const upstreamHeaders = { ...upstreamRequestHeaders(headers.list(), true), 'content-type': 'application/json' };
    try {
      const res = await this.opts.upstream({
        url: this.url,
        method: 'POST',
        headers: upstreamHeaders,
        body,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
      if (!res.ok) {
        // Drained, not cancelled: on Node 20, cancelling a stream made by Readable.toWeb while data is still
        // arriving throws ERR_INVALID_STATE outside any caller. An error body is small.
        await res.text().catch(() => '');
        return 'error';
      }
      const json = (await res.json()) as { choices?: Array<{ message?: { content?: unknown } }> };
      const said = json.choices?.[0]?.message?.content;
      const verdict = typeof said === 'string' && /^\W*same\b/i.test(said.trim()) ? 'same' : 'different';
      this.memo.set(key, verdict);
      return verdict;
    } catch {
      return 'error';
    }
  }
}
