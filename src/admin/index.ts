/** The Kong-compatible Admin API. */
export { startAdmin, type StartAdminOptions, type AdminServer } from './server.ts';
export { registerAdminRoute, unregisterAdminRoute } from './router.ts';
export { AdminError } from './errors.ts';
export type { AdminInfo, ServerStats, AdminHandler, AdminRequest, AdminResponse, AdminContext, RouteOptions } from './types.ts';
export { runNodeLocal, type NodeLocalCall, type NodeLocalFanout } from './node-local.ts';
