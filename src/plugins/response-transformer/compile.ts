/** The config, split once per plugin instance into name / value pairs. */
import { splitPair, type JsonType, type ResponseTransformerConfig } from './schema.ts';

export interface Pair {
  readonly name: string;
  /** Lower-cased name (header bags are keyed so). */
  readonly lname: string;
  /** Text after the colon; null when absent or empty (Kong: nil). */
  readonly value: string | null;
}

export interface JsonPair extends Pair {
  /** json_types[i] for the i-th entry, null when not given. */
  readonly type: JsonType | null;
}

export interface CompiledResponseTransformer {
  readonly headers: {
    readonly remove: readonly Pair[];
    readonly rename: readonly Pair[];
    readonly replace: readonly Pair[];
    readonly add: readonly Pair[];
    readonly append: readonly Pair[];
  };
  readonly json: {
    readonly remove: readonly Pair[];
    readonly rename: readonly Pair[];
    readonly replace: readonly JsonPair[];
    readonly add: readonly JsonPair[];
    readonly append: readonly JsonPair[];
  };
  /** Kong's is_body_transform_set: any json list is non-empty. */
  readonly hasJson: boolean;
}

function pairs(entries: readonly string[] | undefined): Pair[] {
  return (entries ?? []).map((e) => {
    const { name, value } = splitPair(e);
    return { name, lname: name.toLowerCase(), value };
  });
}

function typed(entries: readonly string[] | undefined, types: readonly JsonType[] | undefined): JsonPair[] {
  return pairs(entries).map((p, i) => ({ ...p, type: types?.[i] ?? null }));
}

export function compileConfig(c: ResponseTransformerConfig): CompiledResponseTransformer {
  const json = {
    remove: pairs(c.remove?.json),
    rename: pairs(c.rename?.json),
    replace: typed(c.replace?.json, c.replace?.json_types),
    add: typed(c.add?.json, c.add?.json_types),
    append: typed(c.append?.json, c.append?.json_types),
  };
  return {
    headers: {
      remove: pairs(c.remove?.headers),
      rename: pairs(c.rename?.headers),
      replace: pairs(c.replace?.headers),
      add: pairs(c.add?.headers),
      append: pairs(c.append?.headers),
    },
    json,
    hasJson: Object.values(json).some((l) => l.length > 0),
  };
}
