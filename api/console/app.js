// The console's shell: sign-in, the navigation the token's role may use, the language switch,
// and a small hash router (#/fleet, #/aircraft/<id>, #/inbox, #/inbox/<id>, #/audit, #/stats).

import { api, can, loadAccess, onUnauthorized, session, ApiError } from './api.js';
import { t, setLanguage, language } from './i18n.js';
import { h, fill, form, note, errorText, route, go } from './ui.js';
import { fleetView } from './fleet.js';
import { aircraftView } from './aircraft.js';
import { inboxView } from './inbox.js';
import { partsRequestView, tmcView } from './tmc.js';
import { documentView } from './document.js';
import { auditView } from './audit.js';
import { statsView } from './stats.js';

const main = document.getElementById('main');

/** The views, each offered only when the role may make its first read. */
const VIEWS = [
  { path: 'fleet', label: 'nav.fleet', allowed: () => can('GET', '/api/v1/aircraft'), render: fleetView },
  { path: 'inbox', label: 'nav.inbox', allowed: () => can('GET', '/api/inbox/files'), render: inboxView },
  { path: 'tmc', label: 'nav.tmc', allowed: () => can('GET', '/api/tmc'), render: tmcView },
  { path: 'audit', label: 'nav.audit', allowed: () => can('GET', '/api/v1/audit/events'), render: auditView },
  { path: 'stats', label: 'nav.stats', allowed: () => can('GET', '/api/v1/streaming/views/{name}'), render: statsView },
];
const DETAIL = {
  aircraft: { allowed: () => can('GET', '/api/v1/aircraft/{id}'), render: aircraftView },
  inbox: { allowed: () => can('GET', '/api/inbox/files/{id}'), render: documentView },
  tmc: { allowed: () => can('GET', '/api/tmc/{id}'), render: partsRequestView },
};

function renderChrome() {
  document.documentElement.lang = language();
  document.title = `KLG — ${t('title')}`;
  const me = session.me;
  const nav = document.getElementById('nav');
  const current = route().name;
  fill(nav, me ? VIEWS.filter((v) => v.allowed()).map((v) =>
    h('a', { href: `#/${v.path}`, class: current === v.path || (v.path === 'fleet' && current === 'aircraft') ? 'active' : '' }, t(v.label))) : []);
  fill(document.getElementById('who'), me ? [h('strong', {}, me.name), ' ', h('span', { class: 'role' }, t(`role.${me.role}`))] : []);
  const signout = document.getElementById('signout');
  signout.hidden = !me;
  signout.textContent = t('signout');
  document.getElementById('lang').value = language();
}

function signIn(reason) {
  renderChrome();
  const box = form({
    id: 'signin',
    title: t('signin.title'),
    fields: [{ name: 'token', label: t('signin.token'), type: 'password', required: true, autocomplete: 'off', placeholder: 'klg_…' }],
    submit: t('signin.submit'),
    onSubmit: async ({ token }) => {
      if (!token) throw new ApiError(422, { errors: [{ field: 'token', message: t('signin.empty') }] });
      let me;
      try {
        me = await api('/api/v1/me', { token });
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          throw new ApiError(422, { errors: [{ field: 'token', message: t('signin.rejected') }] });
        }
        throw err;
      }
      session.save(token, me);
      await loadAccess();
      const first = VIEWS.find((v) => v.allowed());
      if (route().name && route().name !== 'signin') render();
      else go(first ? first.path : 'fleet');
    },
  });
  fill(main, h('section', { class: 'signin' },
    h('h1', {}, t('title')),
    reason ? note('error', reason) : null,
    box,
    h('p', { class: 'muted small' }, t('signin.hint'))));
  box.inputs.token.focus();
}

export async function render() {
  if (!session.token || !session.me) return signIn();
  try {
    await loadAccess();
  } catch (err) {
    return fill(main, note('error', errorText(err)));
  }
  renderChrome();
  const { name, id, params } = route();
  const detail = id && DETAIL[name];
  const view = detail || VIEWS.find((v) => v.path === name);
  const allowed = VIEWS.filter((v) => v.allowed());
  if (!view) {
    if (allowed.length) return go(allowed[0].path);
    return fill(main, note('info', t('nothing.for.role')));
  }
  if (!view.allowed()) return fill(main, note('error', t('error.forbidden')));
  const container = h('section', { class: 'view' });
  fill(main, container);
  window.scrollTo(0, 0);
  await view.render(container, { id, params });
}

onUnauthorized(() => {
  session.clear();
  signIn(t('signin.expired'));
});

document.getElementById('signout').addEventListener('click', () => {
  session.clear();
  location.hash = '#/';
  signIn();
});
document.getElementById('lang').addEventListener('change', (e) => {
  setLanguage(e.target.value);
  render();
});
window.addEventListener('hashchange', render);

// Errors in the browser are reported to the server (public, rate-limited endpoint).
function report(message, stack) {
  const body = { message: String(message).slice(0, 2000), level: 'error', url: location.origin + location.pathname, stack: stack ? String(stack).slice(0, 16000) : undefined, user_agent: navigator.userAgent.slice(0, 512) };
  fetch('/api/v1/log-error', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).catch(() => {});
}
window.addEventListener('error', (e) => report(e.message, e.error?.stack));
window.addEventListener('unhandledrejection', (e) => report(e.reason?.message || e.reason, e.reason?.stack));

render();
