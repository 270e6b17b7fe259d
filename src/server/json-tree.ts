// The one parse of a `.rpg.json` document every feature reads: a jsonc-parser tree (comments
// and trailing commas tolerated, as VS Code's JSONC), its plain value, and the helpers that
// turn a JSON path from the validator into the exact node, key or span to underline.
import { findNodeAtLocation, getNodeValue, Node, parseTree, ParseError } from 'jsonc-parser';

export type JsonPath = (string | number)[];

/** A character span in the document: [offset, offset + length). */
export interface Span {
  readonly offset: number;
  readonly length: number;
}

export interface ParsedJson {
  readonly root: Node | undefined;
  /** The document's value as far as the parser could recover it. */
  readonly value: unknown;
  readonly errors: readonly ParseError[];
}

/**
 * jsonc-parser recurses once per nesting level, so a pathological document (100,000 `[`)
 * would overflow the stack. Configs nest 3 levels; anything deeper than this is refused.
 */
export const MAX_NESTING_DEPTH = 64;

export function parseJson(text: string): ParsedJson {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
  return { root, value: root ? getNodeValue(root) : undefined, errors };
}

/**
 * The offset of the first bracket that opens a level deeper than `limit`, or -1. Strings and
 * comments are skipped so brackets inside them do not count. Linear, no allocation.
 */
export function firstTooDeepOffset(text: string, limit: number = MAX_NESTING_DEPTH): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22 || d === 0x0a) break;
      }
    } else if (c === 0x2f /* / */ && text.charCodeAt(i + 1) === 0x2f) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a /* * */) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return i;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth = Math.max(0, depth - 1);
    }
  }
  return -1;
}

export function valueNodeAt(root: Node | undefined, path: JsonPath): Node | undefined {
  return root ? findNodeAtLocation(root, path) : undefined;
}

/** The key node of an object property whose value is `value`, if any. */
export function keyNodeOf(value: Node): Node | undefined {
  const property = value.parent;
  return property?.type === 'property' ? property.children?.[0] : undefined;
}

export type Target = 'key' | 'value';

export interface Located {
  readonly span: Span;
  /** True when the span is the node the path names (not a fallback ancestor). */
  readonly exact: boolean;
}

/**
 * Where to underline a finding about `path`. When the node exists, its value (or its key);
 * when it does not (a missing field), the key of the deepest ancestor that exists, or the
 * first character of the document.
 */
export function locate(root: Node | undefined, path: JsonPath, target: Target): Located {
  const node = valueNodeAt(root, path);
  if (node) {
    const chosen = target === 'key' ? (keyNodeOf(node) ?? node) : node;
    return { span: spanOf(chosen), exact: true };
  }
  for (let n = path.length - 1; n >= 1; n--) {
    const ancestor = valueNodeAt(root, path.slice(0, n));
    if (ancestor) {
      const key = keyNodeOf(ancestor);
      return { span: spanOf(key ?? ancestor), exact: false };
    }
  }
  if (root) return { span: { offset: root.offset, length: Math.min(1, root.length) }, exact: false };
  return { span: { offset: 0, length: 0 }, exact: false };
}

/** The characters a node covers (strings include their quotes). */
export function spanOf(node: Node): Span {
  return { offset: node.offset, length: node.length };
}
