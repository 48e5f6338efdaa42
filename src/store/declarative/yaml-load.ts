/**
 * YAML text → plain JS for the declarative loader (issue 11, item 5).
 *
 * Kong's YAML reader (lyaml) has no cap on the number of aliases, and tools
 * such as Insomnia's openapi-2-kong write one anchor per shared block, so a
 * 120-operation API easily holds more than the `yaml` library's default of
 * 100. We lift that cap and guard against "billion laughs" by what actually
 * hurts: the size of the document once every alias is expanded. That size is
 * computed on the parsed tree with one memoised walk (linear in the text),
 * before anything is expanded.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';

/**
 * Most nodes a document may expand to. A 10,000-route kong.yml is a few
 * hundred thousand nodes; a billion-laughs document is 10^9.
 */
export const MAX_EXPANDED_NODES = 5_000_000;

export class YamlExpansionError extends Error {
  override name = 'YamlExpansionError';
}

export function loadYaml(text: string): unknown {
  const doc = parseDocument(text, { merge: true });
  if (doc.errors.length > 0) throw doc.errors[0]!;
  const size = expandedSize(doc);
  if (size > MAX_EXPANDED_NODES) {
    throw new YamlExpansionError(
      `the document expands to more than ${MAX_EXPANDED_NODES} nodes through its aliases (anchors reused inside anchors); refusing it as a resource-exhaustion (billion laughs) document`,
    );
  }
  // The size guard above is the protection; the library's alias count is not needed.
  return doc.toJS({ maxAliasCount: -1 });
}

/** Number of nodes the document has once aliases are replaced by what they name. */
function expandedSize(doc: Document): number {
  const memo = new Map<unknown, number>();
  const active = new Set<unknown>();
  const size = (node: unknown): number => {
    if (node === null || node === undefined) return 1;
    const known = memo.get(node);
    if (known !== undefined) return known;
    if (active.has(node)) throw new YamlExpansionError('an alias refers to a node that contains it (a recursive structure); refusing it');
    active.add(node);
    let n = 1;
    if (isAlias(node)) n = size(node.resolve(doc));
    else if (isMap(node) || isSeq(node)) {
      for (const item of node.items) {
        n += size(item);
        if (n > MAX_EXPANDED_NODES) break;
      }
    } else if (isPair(node)) n = size(node.key) + size(node.value);
    else if (!isScalar(node)) n = 1;
    active.delete(node);
    memo.set(node, n);
    return n;
  };
  return size(doc.contents as Node | null);
}
