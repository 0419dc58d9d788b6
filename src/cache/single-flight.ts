/**
 * @module cache/single-flight: concurrent requests for one exact key share one lookup and one upstream call.
 * Modelled on undici's dedupe interceptor: a map of flights by key, removed when the flight ends, with a capped
 * buffer so joiners that arrive after the first bytes still get the whole response; past the cap, newcomers go
 * their own way. A flight starts at the leader's exact miss, before any embedding, so identical requests wait for
 * its one semantic lookup instead of each making their own (and finding the leader's fresh entry by similarity).
 */
import type { ByteSink, HeaderList } from '../http/types.js';
import { SlowReaderError } from '../openai/errors.js';
import type { Entry } from '../store/types.js';
import type { AnswerForm } from './hit-reply.js';

/** Bytes a flight keeps for late joiners. */
const MAX_BUFFER = 8 * 1024 * 1024;

/** Bytes all flights together keep for late joiners, unless configured: many long answers at once stay bounded. */
export const MAX_REPLAY_BYTES = 256 * 1024 * 1024;

/** What the flights of one SingleFlight may keep for late joiners, together. */
class ReplayBudget {
  private used = 0;
  constructor(private readonly max: number) {}
  take(n: number): boolean {
    if (this.used + n > this.max) return false;
    this.used += n;
    return true;
  }
  give(n: number): void {
    this.used -= n;
  }
  get inUse(): number {
    return this.used;
  }
}

/**
 * Bytes of a shared answer, arrived since a joiner joined, that may wait for its client (in its front's write buffer)
 * before the joiner is cut with SlowReaderError. The leader never waits for a joiner: without this, a joiner that
 * reads slowly would hold a copy of everything the leader passed on. What was replayed to it when it joined does not
 * count: that is bounded by MAX_BUFFER, and a late joiner that reads fast must not be cut for arriving late.
 */
export const JOINER_BUFFER_BYTES = 1024 * 1024;

/** What the leader did, as its joiners learn it. */
export type FlightDecision =
  | { kind: 'hit'; entry: Entry; match: 'exact' | 'semantic'; score: number }
  /** upstream answered: its status and headers after hygiene, without cache headers */
  | { kind: 'upstream'; status: number; headers: HeaderList }
  /** the leader gave up before an answer (a fault, a client gone): joiners go their own way */
  | { kind: 'none' };

/** A joiner's copy of the flight's bytes, held until its front is ready to write them. */
export class Tap implements ByteSink {
  private held: Uint8Array[] = [];
  private ending: 'end' | { error: unknown } | undefined;
  private target: ByteSink | undefined;
  private closed = false;
  /** bytes handed to the target: in all, and of them the replay it got on attaching */
  private written = 0;
  private replayed = 0;

  constructor(private readonly onDetach: (tap: Tap) => void) {}

  chunk(bytes: Uint8Array): void {
    const target = this.target;
    if (!target) {
      this.held.push(bytes);
      return;
    }
    if (this.tooFarBehind(target)) {
      this.detach();
      target.error(new SlowReaderError());
      return;
    }
    this.written += bytes.byteLength;
    target.chunk(bytes);
  }
  end(): void {
    if (this.target) this.target.end();
    else this.ending = 'end';
  }
  error(err: unknown): void {
    if (this.target) this.target.error(err);
    else this.ending = { error: err };
  }

  /** Start writing to `sink`: first what arrived meanwhile, then the rest as it comes. */
  attach(sink: ByteSink): void {
    if (this.closed) return;
    this.target = sink;
    for (const b of this.held) {
      this.replayed += b.byteLength;
      sink.chunk(b);
    }
    this.written = this.replayed;
    this.held = [];
    if (this.ending === 'end') sink.end();
    else if (this.ending) sink.error(this.ending.error);
  }

  /** The client is gone: stop receiving. */
  detach(): void {
    if (this.closed) return;
    this.closed = true;
    this.held = [];
    this.target = undefined;
    this.onDetach(this);
  }

  /** More than JOINER_BUFFER_BYTES of what came after the replay waits for the client. */
  private tooFarBehind(target: ByteSink): boolean {
    const backlog = target.backlog?.();
    if (backlog === undefined) return false;
    const unreadReplay = Math.max(0, this.replayed - (this.written - backlog));
    return backlog - unreadReplay > JOINER_BUFFER_BYTES;
  }
}

/** One lookup-then-upstream-call in progress, shared by everyone who asked the same thing. */
export class Flight {
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;
  private overflow = false;
  private ended = false;
  private failed = false;
  private readonly taps = new Set<Tap>();
  /** joiners that have not yet subscribed: waiting for the leader's decision, or for the stored entry */
  private waiters = 0;
  private decide!: (d: FlightDecision) => void;
  private resolveResult!: (e: Entry | undefined) => void;
  /** resolves once the leader has served a hit, heard upstream's head, or given up */
  readonly decided = new Promise<FlightDecision>((r) => (this.decide = r));
  /** resolves with the stored answer, or undefined if there was none to store */
  readonly result = new Promise<Entry | undefined>((r) => (this.resolveResult = r));

  /**
   * @param form how the leader asked: joiners in the same form share its bytes, others wait for the entry
   * @param budget shared with the other flights; past it this one keeps nothing more, as past MAX_BUFFER
   */
  constructor(
    readonly form: AnswerForm,
    private readonly budget = new ReplayBudget(MAX_BUFFER),
  ) {}

  /** The leader was answered from the cache: so are its joiners. */
  hit(entry: Entry, match: 'exact' | 'semantic', score: number): void {
    this.decide({ kind: 'hit', entry, match, score });
    this.resolveResult(entry);
  }

  started(status: number, headers: HeaderList): void {
    this.decide({ kind: 'upstream', status, headers });
  }

  push(chunk: Uint8Array): void {
    if (!this.overflow) {
      if (this.bytes + chunk.byteLength > MAX_BUFFER || !this.budget.take(chunk.byteLength)) {
        // No late joiner can have the whole answer now: what was kept goes, and newcomers go their own way.
        this.overflow = true;
        this.chunks.length = 0;
        this.giveBack();
      } else {
        this.bytes += chunk.byteLength;
        this.chunks.push(chunk);
      }
    }
    for (const t of this.taps) t.chunk(chunk);
  }

  /**
   * The flight can no longer be found (SingleFlight's end): its bytes leave the budget. Joiners that found it before
   * may still subscribe in the moment after, and get the whole answer: the bytes stay until they are collected.
   */
  giveBack(): void {
    this.budget.give(this.bytes);
    this.bytes = 0;
  }

  /** The leader's response ended; `entry` is what was stored, if anything. */
  finish(entry: Entry | undefined): void {
    this.ended = true;
    for (const t of this.taps) t.end();
    this.taps.clear();
    this.decide({ kind: 'none' });
    this.resolveResult(entry);
  }

  /** The leader's call failed or was aborted: joiners' streams fail the same way. */
  fail(err: unknown): void {
    this.ended = true;
    this.failed = true;
    for (const t of this.taps) t.error(err);
    this.taps.clear();
    this.decide({ kind: 'none' });
    this.resolveResult(undefined);
  }

  /** The leader gave up before going upstream (a fault, or its client left): nothing to share. */
  abandon(): void {
    this.fail(new Error('the request this one joined went its own way'));
  }

  /** Joiners waiting for the leader's decision (or its stored entry), not yet reading. */
  get waiting(): number {
    return this.waiters;
  }

  /** Joiners reading the answer now, or waiting to. */
  get sharers(): number {
    return this.taps.size + this.waiters;
  }

  /**
   * A joiner counts as a reader from the moment it joins, before upstream's head (when it subscribes) or until the
   * entry is stored (a joiner in another form): the leader's client leaving then does not stop the call it waits
   * for. Call the returned function once it has subscribed or given up; calling it again does nothing.
   */
  wait(): () => void {
    this.waiters++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.waiters--;
      this.unsharedIfLast();
    };
  }

  private unsharedIfLast(): void {
    if (this.taps.size === 0 && this.waiters === 0 && !this.ended) this.onUnshared?.();
  }

  /** Called when the last joiner leaves before the answer ended, once the leader's client has gone (leaderGone). */
  private onUnshared: (() => void) | undefined;

  /**
   * The leader's client has gone. With joiners reading or waiting, `stop` is called once the last of them leaves too
   * (a later call replaces it), and this returns true; with none, it returns false and the caller stops now.
   */
  leaderGone(stop: () => void): boolean {
    if (this.sharers === 0) return false;
    this.onUnshared = stop;
    return true;
  }

  /** A copy of the response body from its first byte, or undefined if that is no longer possible. */
  subscribe(): Tap | undefined {
    if (this.overflow || this.failed) return undefined;
    const tap = new Tap((t) => {
      this.taps.delete(t);
      this.unsharedIfLast();
    });
    for (const c of this.chunks) tap.chunk(c);
    if (this.ended) tap.end();
    else this.taps.add(tap);
    return tap;
  }
}

export class SingleFlight {
  private readonly flights = new Map<string, Flight>();
  private readonly budget: ReplayBudget;

  /** @param replayBytes what all flights together keep for late joiners @default MAX_REPLAY_BYTES */
  constructor(replayBytes = MAX_REPLAY_BYTES) {
    this.budget = new ReplayBudget(replayBytes);
  }

  /** Bytes the flights keep for late joiners now. */
  get replayBytes(): number {
    return this.budget.inUse;
  }

  get(key: string): Flight | undefined {
    return this.flights.get(key);
  }

  /** Become the leader for `key`. Call `end` when the flight is over, whatever happened. */
  lead(key: string, form: AnswerForm): { flight: Flight; end: () => void } {
    const flight = new Flight(form, this.budget);
    this.flights.set(key, flight);
    let ended = false;
    return {
      flight,
      end: () => {
        if (ended) return;
        ended = true;
        if (this.flights.get(key) === flight) this.flights.delete(key);
        flight.giveBack();
      },
    };
  }

  get size(): number {
    return this.flights.size;
  }

  /** Joiners of the open flights waiting for their leader's decision (a gauge: summed when asked). */
  get joinersWaiting(): number {
    let n = 0;
    for (const f of this.flights.values()) n += f.waiting;
    return n;
  }
}
