/**
 * The console at / until the full web UI lands: sign-in (or first-admin setup with the one-time
 * link), then the collectors with status, health, volume in the last day and last event received.
 * It uses only the public API, like the UI will.
 */
const PAGE = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Tributary</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#1b1f24}td,th{padding:4px 12px;text-align:left;border-bottom:1px solid #ddd}
form{display:grid;gap:8px;max-width:320px}input,button{font:inherit;padding:6px}.err{color:#b00020}.muted{color:#666}</style>
<h1>Tributary</h1><main id="app" aria-live="polite">Loading…</main>
<script>
const app = document.getElementById('app');
let csrf = '';
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
async function api(method, path, body) {
  const r = await fetch(path, { method, headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: body && JSON.stringify(body) });
  const data = r.status === 204 ? null : await r.json();
  if (!r.ok) throw Object.assign(new Error(data?.error?.message ?? r.statusText), { status: r.status, data });
  return data;
}
function form(title, fields, submit, onSubmit, note = '') {
  app.innerHTML = '<h2>' + title + '</h2><form>' + fields.map(([n, t, l]) => '<label>' + l + '<br><input name="' + n + '" type="' + t + '" required autocomplete="' + (t === 'password' ? 'current-password' : 'username') + '"></label>').join('') + '<button>' + submit + '</button><p class="err" role="alert"></p></form>' + note;
  app.querySelector('form').onsubmit = async (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(e.target));
    try { await onSubmit(v); } catch (err) { app.querySelector('.err').textContent = err.data?.error?.issues?.map((i) => i.path + ': ' + i.message).join('; ') || err.message; }
  };
}
async function collectors() {
  const list = await api('GET', '/api/collectors');
  const rows = list.map((c) => '<tr><td>' + esc(c.sourceTitle) + '</td><td>' + esc(c.name) + '</td><td>' + c.volumeLastDay.toLocaleString() + '</td><td>' + esc(c.lastEventReceived ?? '—') + '</td><td>' + esc(c.status) + '</td><td>' + esc(c.health.level) + (c.health.silent ? ' (silent)' : '') + '</td></tr>').join('');
  app.innerHTML = '<p class="muted">Signed in. <button id="out">Sign out</button> · API: <a href="/api/openapi.json">/api/openapi.json</a></p><table><thead><tr><th>Type</th><th>Name</th><th>Volume (last day)</th><th>Last event received</th><th>Status</th><th>Health</th></tr></thead><tbody>' + (rows || '<tr><td colspan="6">No collectors yet.</td></tr>') + '</tbody></table>';
  document.getElementById('out').onclick = async () => { await api('POST', '/api/logout'); location.reload(); };
}
async function start() {
  try {
    const s = await api('GET', '/api/session');
    csrf = s.csrfToken ?? '';
    await collectors();
    setInterval(() => collectors().catch(() => location.reload()), 10000);
  } catch (err) {
    if (err.status !== 401) { app.textContent = err.message; return; }
    const token = new URLSearchParams(location.search).get('setup');
    if (token && (await api('GET', '/api/setup')).needed) {
      form('Create the first admin', [['username', 'text', 'Username'], ['password', 'password', 'Password (12+ characters)']], 'Create admin', async (v) => {
        await api('POST', '/api/setup', { token, ...v });
        history.replaceState(null, '', '/');
        await api('POST', '/api/login', v);
        start();
      });
      return;
    }
    form('Sign in', [['username', 'text', 'Username'], ['password', 'password', 'Password']], 'Sign in', async (v) => { await api('POST', '/api/login', v); start(); });
  }
}
start();
</script></html>`;

export function consolePage(path: string): string | undefined {
  return path === '/' ? PAGE : undefined;
}
