// Serves a Kong Manager build as Kong's nginx does (sub_filter '/__km_base__/' '/') (dist/) with a kconfig.js pointing at an Admin API; SPA fallback to index.html.
// usage: node serve-kong-manager.mjs DIST_DIR PORT ADMIN_API_URL   (binds 127.0.0.1; see docs/kong-manager.md)
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
const [dist, port, adminApiUrl] = process.argv.slice(2);
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.woff': 'font/woff', '.ttf': 'font/ttf', '.json': 'application/json', '.txt': 'text/plain' };
const kconfig = `window.K_CONFIG = {\n  'ADMIN_GUI_PATH': '/',\n  'ADMIN_API_URL': '${adminApiUrl}',\n  'ADMIN_API_PORT': '${new URL(adminApiUrl).port || '80'}',\n  'ANONYMOUS_REPORTS': 'false'\n}\n`;
createServer(async (req, res) => {
  const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
  if (path === '/kconfig.js') { res.writeHead(200, { 'content-type': 'text/javascript' }); res.end(kconfig); return; }
  let file = normalize(join(dist, path));
  if (!file.startsWith(normalize(dist))) { res.writeHead(403); res.end(); return; }
  try { if (!(await stat(file)).isFile()) throw new Error('dir'); } catch { file = join(dist, 'index.html'); }
  const type = types[extname(file)] ?? 'application/octet-stream';
  let body = await readFile(file);
  if (/html|javascript|css/.test(type)) body = Buffer.from(body.toString('utf8').replaceAll('/__km_base__/', '/'));
  res.writeHead(200, { 'content-type': type });
  res.end(body);
}).listen(Number(port), '127.0.0.1');
