import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { WebchatGatewayConfig } from './webchat-gateways.service';
import { PAGE_SCRIPT } from './webchat-page.script';

interface Asset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
  etag: string;
}

/** Microsoft's Web Chat bundle, as installed (no CDN): the widget's own dist file. */
function webchatBundlePath(): string {
  // The package's exports do not list dist/webchat.js; its main entry sits beside dist/.
  return join(dirname(require.resolve('botframework-webchat')), '..', 'dist', 'webchat.js');
}

/** The hosted page and the scripts it loads. */
@Injectable()
export class WebchatPageService {
  private readonly assets = new Map<string, Asset>();

  page(res: ServerResponse, gateway: WebchatGatewayConfig): void {
    const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(gateway.bot.name)}</title>
<style>
  html, body { height: 100%; margin: 0; font-family: system-ui, sans-serif; }
  body { display: flex; flex-direction: column; }
  #start { margin: 2rem auto; display: flex; gap: .5rem; }
  #status { text-align: center; }
  #webchat { flex: 1; min-height: 0; }
</style>
</head>
<body data-gateway="${escapeHtml(gateway.id)}">
<form id="start">
  <label for="name">Your name</label>
  <input id="name" name="name" autocomplete="name" maxlength="100">
  <button type="submit" id="start-chat">Start chat</button>
</form>
<p id="status" role="status"></p>
<main id="webchat" hidden></main>
<script src="/webchat/assets/webchat.js"></script>
<script src="/webchat/assets/page.js"></script>
</body>
</html>`;
    const body = Buffer.from(html);
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': String(body.length),
      'cache-control': 'no-store',
      // Web Chat renders cards with inline styles and loads images from the bot's URLs.
      'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data: blob:; connect-src 'self' ws: wss:; media-src 'self' https: blob:; frame-ancestors 'self'",
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  }

  /** A script with caching headers (ETag of its content, a day of caching) and gzip when the client takes it. */
  asset(req: IncomingMessage, res: ServerResponse, name: string): void {
    const asset = this.load(name);
    const headers: Record<string, string> = { 'content-type': asset.type, etag: asset.etag, 'cache-control': 'public, max-age=86400', vary: 'Accept-Encoding', 'x-content-type-options': 'nosniff' };
    if (req.headers['if-none-match'] === asset.etag) return void res.writeHead(304, headers).end();
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? asset.gzipped : asset.body;
    res.writeHead(200, { ...headers, 'content-length': String(body.length), ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private load(name: string): Asset {
    let asset = this.assets.get(name);
    if (!asset) {
      const body = name === 'webchat.js' ? readFileSync(webchatBundlePath()) : Buffer.from(PAGE_SCRIPT);
      asset = { type: 'text/javascript; charset=utf-8', body, gzipped: gzipSync(body), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
      this.assets.set(name, asset);
    }
    return asset;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
