// Where a config field ("train.lr", "model.hidden.0") sits in a .rpg.json text, so an error
// that names a field can open the config with that field selected.
import { findNodeAtLocation, Node, parseTree } from 'jsonc-parser';

export interface TextSpan {
  readonly offset: number;
  readonly length: number;
  /** The path segments that were found (a prefix of the field when it is missing). */
  readonly found: readonly (string | number)[];
}

/**
 * The span of the property `field` (key and value) in `text`; when the field is not written,
 * the deepest written ancestor; undefined when not even the root parses.
 */
export function locateField(text: string, field: string): TextSpan | undefined {
  const root = parseTree(text);
  if (!root) return undefined;
  const segments = field
    .split('.')
    .filter(Boolean)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  for (let n = segments.length; n > 0; n--) {
    const found = segments.slice(0, n);
    const node = findNodeAtLocation(root, found);
    if (node) return spanOf(node, found);
  }
  return { offset: root.offset, length: 1, found: [] };
}

function spanOf(node: Node, found: (string | number)[]): TextSpan {
  // A property value: select "key": value, which is what the user reads as the field.
  const target = node.parent?.type === 'property' ? node.parent : node;
  return { offset: target.offset, length: target.length, found };
}
