/** @module test/helpers/gated-embedder: the synthetic embedder, whose embedding of one chosen text waits until the test lets it go. */
import { SyntheticEmbedder } from './synthetic-embedder.js';

export class GatedEmbedder extends SyntheticEmbedder {
  private gate: { text: string; held: Promise<void>; asked: () => void } | undefined;

  /** The next embedding of `text` waits for `release()`; `asked` resolves once it has been asked for. */
  hold(text: string): { asked: Promise<void>; release: () => void } {
    let asked!: () => void;
    let release!: () => void;
    const a = new Promise<void>((r) => (asked = r));
    this.gate = { text, held: new Promise<void>((r) => (release = r)), asked };
    return { asked: a, release };
  }

  override async embed(texts: string[]): Promise<Float32Array[]> {
    const g = this.gate;
    if (g && texts.includes(g.text)) {
      this.gate = undefined;
      g.asked();
      await g.held;
    }
    return super.embed(texts);
  }
}
