/**
 * A compressed prefix tree (radix tree) of strings → values, used to find
 * every route path that is a prefix of the request path in one walk over the
 * path's characters, whatever the number of routes.
 *
 * Kong's prefix paths are plain string prefixes (`/foo` matches `/foobar`),
 * not segment prefixes, so the tree is keyed by characters.
 */

interface RadixNode<T> {
  /** Edge label from the parent (empty for the root). */
  label: string;
  /** Children by the first char code of their label. */
  children: Map<number, RadixNode<T>> | null;
  /** Values stored at exactly this key. */
  values: T[] | null;
}

function newNode<T>(label: string): RadixNode<T> {
  return { label, children: null, values: null };
}

export class RadixTree<T> {
  private readonly root: RadixNode<T> = newNode<T>('');
  private count = 0;

  get size(): number {
    return this.count;
  }

  insert(key: string, value: T): void {
    this.count++;
    let node = this.root;
    let offset = 0;
    for (;;) {
      if (offset === key.length) {
        (node.values ??= []).push(value);
        return;
      }
      const first = key.charCodeAt(offset);
      const child = node.children?.get(first);
      if (child === undefined) {
        const leaf = newNode<T>(key.slice(offset));
        leaf.values = [value];
        (node.children ??= new Map()).set(first, leaf);
        return;
      }
      // length of the common part of child.label and key[offset..]
      const label = child.label;
      let common = 1;
      const max = Math.min(label.length, key.length - offset);
      while (common < max && label.charCodeAt(common) === key.charCodeAt(offset + common)) common++;
      if (common === label.length) {
        node = child;
        offset += common;
        continue;
      }
      // split the edge: node → mid(label[0..common]) → child(label[common..])
      const mid = newNode<T>(label.slice(0, common));
      child.label = label.slice(common);
      mid.children = new Map([[child.label.charCodeAt(0), child]]);
      node.children!.set(first, mid);
      node = mid;
      offset += common;
    }
  }

  /**
   * Push onto `out` the value list of every key that is a prefix of `input`,
   * shortest first. Allocation-free apart from `out` growing (callers reuse it).
   */
  collectPrefixesOf(input: string, out: Array<readonly T[]>): void {
    let node = this.root;
    let offset = 0;
    for (;;) {
      if (node.values !== null) out.push(node.values);
      if (node.children === null || offset >= input.length) return;
      const child = node.children.get(input.charCodeAt(offset));
      if (child === undefined || !input.startsWith(child.label, offset)) return;
      offset += child.label.length;
      node = child;
    }
  }

  /** Apply `fn` to every stored value list (compile-time use: sorting). */
  forEachList(fn: (values: T[]) => void): void {
    const stack: RadixNode<T>[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.values !== null) fn(node.values);
      if (node.children !== null) for (const c of node.children.values()) stack.push(c);
    }
  }
}
