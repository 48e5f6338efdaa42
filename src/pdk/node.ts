/** kong.node: the node this request runs on. */
import { hostname as osHostname } from 'node:os';
import { nodeId } from '../core/node-id.ts';

/** kong.node.get_id(). */
export function getId(): string {
  return nodeId();
}

/** kong.node.get_hostname(). */
export function getHostname(): string {
  return osHostname();
}
