/**
 * @module cache/turn-split: the query text of an API whose conversation is a list of turns (DESIGN: cache-key
 * contract 3): the last turn's text parts, joined with line breaks, when that turn is the user's. Each API names its
 * turns, its text parts and its exceptions (openai/query-split.ts, anthropic/messages.ts); the rule is kept here once.
 */
import type { QuerySplit } from './wire.js';

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether `p` is a text part of type `type` whose text is a string. */
const isText = (p: unknown, type: string): p is { text: string } => isRecord(p) && p.type === type && typeof p.text === 'string';

/** The text of a turn's content: a string, or its text parts (`type`) joined with line breaks. */
export function contentText(content: unknown, type: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((p) => isText(p, type))
    .map((p) => (p as { text: string }).text)
    .join('\n');
}

/**
 * Whether a non-text part stands between two text parts. The joined text would not say which words came before the
 * image and which after ("Image 1:", img, "Image 2:\nWhich is brighter?" reads as "Image 1:\nImage 2:", img, "Which
 * is brighter?"), so such a turn is matched exactly, its texts in the scope where they stand.
 */
function textsSplitByParts(content: unknown[], type: string): boolean {
  let text = false;
  let between = false;
  for (const p of content) {
    if (isText(p, type)) {
      if (between) return true;
      text = true;
    } else if (text) between = true;
  }
  return false;
}

export interface TurnSplit {
  /** the body member that holds the turns: "messages", "input" */
  field: string;
  /** whether a turn is a user message whose text can be matched */
  isUser: (turn: Record<string, unknown>) => boolean;
  /** the type of a text part: "text", "input_text" */
  textType: string;
  /** what a string content becomes in the scope */
  stringPlaceholder: unknown;
  /** a content that must be matched exactly (an Anthropic tool result) */
  exactOnly?: (content: unknown[]) => boolean;
}

/**
 * The split for a list of turns. The last turn, if it is the user's, gives its text; in the scope its content keeps
 * every non-text part, and a text-less stand-in where each text part stood.
 */
export function lastTurnSplit(t: TurnSplit): QuerySplit {
  return (params) => {
    const turns = params[t.field];
    if (!Array.isArray(turns) || turns.length === 0) return undefined;
    const last: unknown = turns[turns.length - 1];
    if (!isRecord(last) || !t.isUser(last)) return undefined;
    const content = last.content;
    if (Array.isArray(content) && (textsSplitByParts(content, t.textType) || t.exactOnly?.(content))) return undefined;
    const rest: Record<string, unknown> = Object.assign(Object.create(null), last);
    rest.content = Array.isArray(content) ? content.map((p) => (isText(p, t.textType) ? { ...p, text: undefined } : p)) : t.stringPlaceholder;
    params[t.field] = [...turns.slice(0, -1), rest];
    return contentText(content, t.textType);
  };
}
