/**
 * @module bench/soak/pool: who asks what in the soak. Tenants (each with its own credential, in the header style
 * its client would use), scopes (model and system prompt), and a fixed pool of questions in paraphrase groups that
 * every tenant and scope asks, so the same words arrive from many tenants and scopes and must never cross.
 */
import { createHash } from 'node:crypto';
import { rng } from '../../test/helpers/vectors.js';

export type CredentialStyle = 'bearer' | 'api-key' | 'x-api-key';

export interface Tenant {
  /** the credential's value; the fake upstream names the tenant by it, so an answer says whose it is */
  credential: string;
  style: CredentialStyle;
  /** the request header carrying the credential */
  header: [string, string];
}

const tenant = (credential: string, style: CredentialStyle): Tenant => ({
  credential,
  style,
  header: style === 'bearer' ? ['authorization', `Bearer ${credential}`] : [style, credential],
});

/**
 * Four OpenAI-style tenants, one Azure-style (`api-key`), two Anthropic-style (`x-api-key`, no Authorization).
 * The last two share no header Reprise keyed tenants on when this soak was written: they test that separation too.
 */
export const ALL_TENANTS: readonly Tenant[] = [
  tenant('sk-soak-tenant-1', 'bearer'),
  tenant('sk-soak-tenant-2', 'bearer'),
  tenant('sk-soak-tenant-3', 'bearer'),
  tenant('sk-soak-tenant-4', 'bearer'),
  tenant('azure-soak-tenant-5', 'api-key'),
  tenant('sk-ant-soak-tenant-6', 'x-api-key'),
  tenant('sk-ant-soak-tenant-7', 'x-api-key'),
];

export interface Scope {
  model: string;
  system: string;
}

const SYSTEMS = ['You are a concise assistant. Answer in one short paragraph.', 'You are a pirate. Answer every question in pirate speak.'];
const MODELS = ['gpt-4o-mini', 'gpt-4.1-nano'];
export const SCOPES: readonly Scope[] = MODELS.flatMap((model) => SYSTEMS.map((system) => ({ model, system })));

/**
 * Paraphrase groups on topics far apart, so a semantic hit across groups would be a matching error, not a close
 * call. The first text of each group is the one asked most (exact repeats); the others are its paraphrases.
 */
export const GROUPS: readonly (readonly string[])[] = [
  ['How long should I boil an egg for a soft yolk?', 'How many minutes do I boil an egg to keep the yolk soft?', 'For a runny yolk, how long does an egg need to boil?'],
  ['What is the capital city of Australia?', 'Which city is the capital of Australia?', "Name Australia's capital city."],
  ['How do I reset the password of my Wi-Fi router?', 'What are the steps to reset my Wi-Fi router password?', 'I forgot my Wi-Fi router password; how can I reset it?'],
  ['Explain how photosynthesis works in plants.', 'How do plants perform photosynthesis?', 'Can you describe the process of photosynthesis in plants?'],
  ['How do I convert Celsius to Fahrenheit?', 'What is the formula to convert Celsius into Fahrenheit?', 'How can I turn a temperature in Celsius into Fahrenheit?'],
  ['Write a haiku about autumn leaves.', 'Compose a haiku about falling autumn leaves.', 'Give me a haiku on the leaves of autumn.'],
  ['What is the best way for an adult to learn the violin?', 'How should an adult beginner learn to play the violin?', 'As an adult, how can I best learn the violin?'],
  ['Why is the sky blue during the day?', 'What makes the daytime sky look blue?', 'Why does the sky appear blue in daylight?'],
  ['Explain list comprehensions in Python with an example.', 'How do Python list comprehensions work? Show an example.', 'Give an example of a list comprehension in Python and explain it.'],
  ['How many bones are in the adult human body?', 'What is the number of bones in an adult human skeleton?', 'How many bones does a grown-up human have?'],
  ['What causes the ocean tides?', 'Why do ocean tides happen?', 'What is responsible for the tides of the sea?'],
  ['Give me tips for a job interview.', 'What advice do you have for doing well in a job interview?', 'How can I prepare for a job interview?'],
  ['How often should I water a cactus?', 'How frequently does a cactus need watering?', 'What is the right watering schedule for a cactus?'],
  ['Who painted the Mona Lisa?', 'Which artist painted the Mona Lisa?', 'Who was the painter of the Mona Lisa?'],
];

/** A short, stable id for a text (what the fake upstream writes into an answer, and what the client checks). */
export const id10 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 10);

export const scopeId = (model: string, system: string) => id10(`scope\u0000${model}\u0000${system}`);
export const questionId = (text: string) => id10(`question\u0000${text}`);

/** question id → [group, variant] */
export const QUESTION_INDEX: ReadonlyMap<string, readonly [number, number]> = new Map(
  GROUPS.flatMap((texts, g) => texts.map((t, v) => [questionId(t), [g, v] as const] as const)),
);

/** A small seeded PRNG (mulberry32, test/helpers/vectors.ts), so a run's mix can be repeated with `--seed`. */
export { rng };

export const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
