/**
 * @module cache/single-flight: concurrent misses for one exact key share one upstream call.
 * Modelled on undici's dedupe interceptor: a map of flights by key, removed in `finally`, with a capped buffer
 * so joiners that arrive after the first bytes still get the whole response. Past the cap, newcomers make their
 * own call.
 */

/** Bytes a flight keeps for late joiners. */
const MAX_BUFFER = 8 * 1024 * 1024;

export interface FlightHead {
  status: number;
  headers: Headers;
}

/** One upstream call in progress, shared by everyone who asked the same thing in the same way. */
export class Flight<R> {
  head: FlightHead | undefined;
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;
  private overflow = false;
  private ended = false;
  private failed = false;
  private readonly subscribers = new Set<ReadableStreamDefaultController<Uint8Array>>();
  private resolveHead!: (h: FlightHead | undefined) => void;
  private resolveResult!: (r: R | undefined) => void;
  /** resolves when upstream answered (undefined if it failed before answering) */
  readonly headReady = new Promise<FlightHead | undefined>((r) => (this.resolveHead = r));
  /** resolves with the stored answer, or undefined if there was none to store */
  readonly result = new Promise<R | undefined>((r) => (this.resolveResult = r));

  /** @param mode how the leader asked (stream or JSON, with or without usage): joiners in the same mode share bytes */
  constructor(readonly mode: string) {}

  started(head: FlightHead): void {
    this.head = head;
    this.resolveHead(head);
  }

  push(chunk: Uint8Array): void {
    if (!this.overflow) {
      this.bytes += chunk.byteLength;
      if (this.bytes > MAX_BUFFER) {
        this.overflow = true;
        this.chunks.length = 0;
      } else {
        this.chunks.push(chunk);
      }
    }
    for (const c of this.subscribers) c.enqueue(chunk);
  }

  /** The leader's response finished; `result` is what was stored (if anything). */
  finish(result: R | undefined): void {
    this.ended = true;
    for (const c of this.subscribers) c.close();
    this.subscribers.clear();
    this.resolveHead(undefined);
    this.resolveResult(result);
  }

  /** The leader's call failed or was aborted: joiners' streams fail the same way. */
  fail(err: unknown): void {
    this.ended = true;
    this.failed = true;
    for (const c of this.subscribers) c.error(err);
    this.subscribers.clear();
    this.resolveHead(undefined);
    this.resolveResult(undefined);
  }

  /** A copy of the response body from its first byte, or undefined if that is no longer possible. */
  subscribe(): ReadableStream<Uint8Array> | undefined {
    if (this.overflow || this.failed) return undefined;
    let ctrl!: ReadableStreamDefaultController<Uint8Array>;
    return new ReadableStream<Uint8Array>({
      start: (c) => {
        ctrl = c;
        for (const chunk of this.chunks) c.enqueue(chunk);
        if (this.ended) c.close();
        else this.subscribers.add(c);
      },
      cancel: () => {
        this.subscribers.delete(ctrl);
      },
    });
  }
}

export class SingleFlight<R> {
  private readonly flights = new Map<string, Flight<R>>();

  get(key: string): Flight<R> | undefined {
    return this.flights.get(key);
  }

  /** Become the leader for `key`. Call `end` when the flight is over, whatever happened. */
  lead(key: string, mode: string): { flight: Flight<R>; end: () => void } {
    const flight = new Flight<R>(mode);
    this.flights.set(key, flight);
    return {
      flight,
      end: () => {
        if (this.flights.get(key) === flight) this.flights.delete(key);
      },
    };
  }

  get size(): number {
    return this.flights.size;
  }
}
