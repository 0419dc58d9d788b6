/** @module cache/verifier/registry: the learned verifiers that ship with Reprise, by embedder id. */
import { loadVerifier, type LoadedVerifier, type VerifierModel } from '../verify.js';
import useLite from './use-lite.json' with { type: 'json' };

const MODELS: Record<string, VerifierModel> = {
  [(useLite as VerifierModel).mlp.embedder]: useLite as VerifierModel,
};

const loaded = new Map<string, LoadedVerifier>();

/** The learned verifier trained for this embedder, if one ships. */
export function verifierFor(embedderId: string): LoadedVerifier | undefined {
  const model = MODELS[embedderId];
  if (!model) return undefined;
  let v = loaded.get(embedderId);
  if (!v) loaded.set(embedderId, (v = loadVerifier(model)));
  return v;
}
