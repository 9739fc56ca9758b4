// The console's static files: htmx and uPlot served from their npm packages (no CDN, no
// network at run time), and the console's own stylesheet and script.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { GatewayApp } from '../http/context.js';
import { CONSOLE_CSS } from './style.js';
import { CONSOLE_JS } from './client-script.js';

const require = createRequire(import.meta.url);

interface Asset {
  type: string;
  load: () => string;
}

const ASSETS: Record<string, Asset> = {
  'htmx.min.js': {
    type: 'text/javascript',
    load: () => readFileSync(require.resolve('htmx.org/dist/htmx.min.js'), 'utf8'),
  },
  'uplot.min.js': {
    type: 'text/javascript',
    load: () => readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
  },
  'uplot.min.css': {
    type: 'text/css',
    load: () => readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  },
  'console.css': { type: 'text/css', load: () => CONSOLE_CSS },
  'console.js': { type: 'text/javascript', load: () => CONSOLE_JS },
};

const loaded = new Map<string, string>();

export function registerAssets(app: GatewayApp): void {
  app.get<{ Params: { file: string } }>(
    '/console/assets/:file',
    { schema: { hide: true } },
    (req, reply) => {
      const asset = Object.hasOwn(ASSETS, req.params.file) ? ASSETS[req.params.file] : undefined;
      if (asset === undefined) return reply.callNotFound();
      let body = loaded.get(req.params.file);
      if (body === undefined) {
        body = asset.load();
        loaded.set(req.params.file, body);
      }
      return reply
        .type(`${asset.type}; charset=utf-8`)
        .header('cache-control', 'public, max-age=3600')
        .send(body);
    },
  );
}
