/**
 * The node's id (Kong's kong.node.get_id(), GET / `node_id`): chosen once per
 * start by the gateway (the cluster primary before it forks its workers, which
 * inherit it through the environment), so every process of a node reports
 * the same id.
 */
import process from 'node:process';
import { randomUUID } from 'node:crypto';

/** Env variable by which the cluster primary hands the node id to its workers. */
export const NODE_ID_ENV = 'PORTCULLIS_NODE_ID';

let id = process.env[NODE_ID_ENV] ?? '';

export function nodeId(): string {
  if (id === '') id = randomUUID();
  return id;
}

export function setNodeId(value: string): void {
  id = value;
}
