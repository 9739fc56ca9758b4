// /console/files?path=: a browser over the TableOS file system (as root): the tree along the
// path, a directory's entries, a file's first 64 KiB as text, and a download link.
import { FsError } from '../fs/errors.js';
import type { FileSystem } from '../fs/file-system.js';
import { joinPath } from '../fs/path.js';
import type { DirEntry } from '../fs/types.js';
import { html, query, type SafeHtml } from './html.js';
import { time } from './layout.js';

export const PREVIEW_BYTES = 64 * 1024;

export function fileHref(path: string): string {
  return `/console/files${query({ path })}`;
}

export function rawHref(path: string): string {
  return `/console/files/raw${query({ path })}`;
}

/** The directories from the root down to path: '/', '/a', '/a/b'. */
function ancestors(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  return ['/', ...parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)];
}

function sorted(entries: DirEntry[]): DirEntry[] {
  return [...entries].sort(
    (a, b) =>
      Number(b.type === 'directory') - Number(a.type === 'directory') ||
      a.name.localeCompare(b.name),
  );
}

async function tree(fs: FileSystem, path: string, dirs: string[]): Promise<SafeHtml> {
  const listings = await Promise.all(dirs.map((d) => fs.readdir(d).catch(() => [])));
  const level = (i: number): SafeHtml => {
    const dir = dirs[i]!;
    const next = dirs[i + 1];
    const subdirs = sorted(listings[i] ?? []).filter((e) => e.type === 'directory');
    return html`<ul>
      ${subdirs.map((e) => {
        const p = joinPath(dir, e.name);
        return html`<li>
          <a href="${fileHref(p)}" ${p === path ? html` aria-current="location"` : ''}>${e.name}/</a
          >${p === next ? level(i + 1) : ''}
        </li>`;
      })}
    </ul>`;
  };
  return html`<nav id="tree" aria-label="directory tree">
    <a href="${fileHref('/')}">/</a>${level(0)}
  </nav>`;
}

function crumbs(path: string): SafeHtml {
  return html`<p class="crumbs">
    ${ancestors(path).map(
      (p) =>
        html`<a href="${fileHref(p)}">${p === '/' ? '/' : (p.split('/').pop() ?? '')}</a
          ><span aria-hidden="true">${p === '/' ? '' : '/'}</span>`,
    )}
  </p>`;
}

function utf8(buf: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return undefined;
  }
}

export async function filesBody(
  fs: FileSystem,
  path: string,
): Promise<{ status: number; body: SafeHtml }> {
  try {
    const st = await fs.stat(path);
    const dirs = st.type === 'directory' ? ancestors(path) : ancestors(path).slice(0, -1);
    const side = await tree(fs, path, dirs);
    if (st.type === 'directory') {
      const entries = sorted(await fs.readdir(path));
      const stats = await Promise.all(
        entries.map((e) => fs.lstat(joinPath(path, e.name)).catch(() => undefined)),
      );
      return {
        status: 200,
        body: html`${crumbs(path)}${side}
          <table id="dir-list">
            <thead>
              <tr>
                <th scope="col">name</th>
                <th scope="col">type</th>
                <th scope="col" class="num">size</th>
                <th scope="col">mode</th>
                <th scope="col">modified</th>
              </tr>
            </thead>
            <tbody>
              ${entries.map((e, i) => {
                const s = stats[i];
                const p = joinPath(path, e.name);
                return html`<tr data-name="${e.name}">
                  <td>
                    <a href="${fileHref(p)}">${e.name}${e.type === 'directory' ? '/' : ''}</a>
                  </td>
                  <td>${e.type}</td>
                  <td class="num">${s?.size ?? ''}</td>
                  <td>
                    <code
                      >${s === undefined ? '' : (s.mode & 0o7777).toString(8).padStart(4, '0')}</code
                    >
                  </td>
                  <td>${time(s?.mtime)}</td>
                </tr>`;
              })}
            </tbody>
          </table>`,
      };
    }
    const head = await fs.read(path, 0, Math.min(st.size, PREVIEW_BYTES));
    const text = utf8(head);
    return {
      status: 200,
      body: html`${crumbs(path)}${side}
        <p>
          ${st.size} bytes, mode <code>${(st.mode & 0o7777).toString(8).padStart(4, '0')}</code>,
          modified ${time(st.mtime)}. <a id="download" href="${rawHref(path)}" download>Download</a>
        </p>
        ${
          text === undefined
            ? html`<p class="muted">Binary file: no preview.</p>`
            : html`<pre id="preview">${text}</pre>
                ${st.size > PREVIEW_BYTES ? html`<p class="muted">First ${PREVIEW_BYTES} bytes shown.</p>` : ''}`
        }`,
    };
  } catch (err) {
    if (!(err instanceof FsError)) throw err;
    return {
      status: err.errno === 'ENOENT' ? 404 : 400,
      body: html`${crumbs('/')}
        <p id="fs-error" role="alert">${err.message}</p>`,
    };
  }
}
