// Small DOM helpers shared by the views: elements (text only, never HTML), dates, forms that
// show the API's field errors next to the field, tables that become cards on a phone, pagers.

import { ApiError } from './api.js';
import { t, locale } from './i18n.js';

/** An element: `attrs` are properties (on*, class, dataset…) or attributes; children are nodes or text. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces `el`'s children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** An instant in the user's time zone, with UTC on hover. */
export function time(iso, { dateOnly = false } = {}) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', {}, iso);
  const text = dateOnly
    ? d.toLocaleDateString(locale())
    : d.toLocaleString(locale(), { dateStyle: 'medium', timeStyle: 'medium' });
  return h('time', { datetime: d.toISOString(), title: `UTC ${d.toISOString().replace('T', ' ').replace('Z', '')}` }, text);
}

/** A calendar date (no time zone: shown as is, in the user's format). */
export function day(date) {
  if (!date) return h('span', { class: 'muted' }, '—');
  const [y, m, dd] = date.split('-').map(Number);
  const local = new Date(y, m - 1, dd);
  return h('time', { datetime: date, title: date }, local.toLocaleDateString(locale()));
}

export function number(n, digits = 0) {
  if (n === null || n === undefined) return '—';
  return Number(n).toLocaleString(locale(), { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${number(n / 1024, 1)} KiB`;
  return `${number(n / 1024 / 1024, 1)} MiB`;
}

/** A coloured label for a status-like value. */
export function badge(kind, value) {
  return h('span', { class: `badge ${kind}-${value}` }, t(`${kind}.${value}`));
}

/** A message box; `kind` is info, ok or error. */
export function note(kind, ...text) {
  return h('p', { class: `note ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...text);
}

/** What went wrong, for the user. */
export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 403) return t('error.forbidden');
    if (err.status === 0) return t('error.network');
    return err.problem.detail || `HTTP ${err.status}`;
  }
  return String(err?.message || err);
}

/** A loading placeholder while `promise` runs, then what `render` makes of its result (or the error). */
export async function load(container, promise, render) {
  fill(container, h('p', { class: 'muted loading' }, t('loading')));
  try {
    const value = await promise;
    fill(container, render(value));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    fill(container, note('error', errorText(err)));
  }
}

/**
 * A form. `fields`: [{name, label, type (text, number, date, datetime-local, select, textarea,
 * file), options: [[value, label]], required, value, step, min, max, placeholder}]. On submit,
 * `onSubmit(values, form)` runs; if it throws an ApiError naming fields (422), each message is
 * shown under its field; anything else under the form. `onSubmit` may return a success message.
 */
export function form({ id, title, fields, submit, onSubmit, compact = false }) {
  const general = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const inputs = {};
  const rows = fields.map((f) => {
    const inputId = `${id}-${f.name}`;
    let input;
    if (f.type === 'select') {
      input = h('select', { id: inputId, name: f.name, required: f.required },
        f.options.map(([value, label]) => h('option', { value, selected: value === f.value }, label)));
    } else if (f.type === 'textarea') {
      input = h('textarea', { id: inputId, name: f.name, required: f.required, rows: 2, placeholder: f.placeholder });
      if (f.value) input.value = f.value;
    } else {
      input = h('input', {
        id: inputId, name: f.name, type: f.type || 'text', required: f.required, step: f.step, min: f.min,
        max: f.max, placeholder: f.placeholder, autocomplete: f.autocomplete || 'off',
      });
      if (f.value !== undefined) input.value = f.value;
    }
    inputs[f.name] = input;
    const error = h('span', { class: 'field-error', id: `${inputId}-error`, 'aria-live': 'polite' });
    input.setAttribute('aria-describedby', error.id);
    return h('div', { class: 'field', dataset: { field: f.name } }, h('label', { for: inputId }, f.label), input, error);
  });
  const button = h('button', { type: 'submit', class: 'primary' }, submit);
  const el = h('form', { id, class: compact ? 'form compact' : 'form', novalidate: true },
    title ? h('h3', {}, title) : null, h('div', { class: 'fields' }, rows), h('div', { class: 'actions' }, button), general);

  const clear = () => {
    el.querySelectorAll('.field-error').forEach((e) => (e.textContent = ''));
    el.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
    fill(general);
  };
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear();
    const values = {};
    for (const f of fields) {
      const input = inputs[f.name];
      if (f.type === 'file') values[f.name] = input.files[0];
      else if (f.type === 'number') values[f.name] = input.value === '' ? undefined : Number(input.value);
      else values[f.name] = input.value.trim() === '' && !f.keepEmpty ? undefined : input.value.trim();
    }
    button.disabled = true;
    try {
      const message = await onSubmit(values, el);
      if (message) fill(general, note('ok', message));
    } catch (err) {
      showErrors(err);
    } finally {
      button.disabled = false;
    }
  });

  function showErrors(err) {
    if (err instanceof ApiError && err.status === 401) return;
    const unplaced = [];
    for (const { field, message } of err instanceof ApiError ? err.fieldErrors : []) {
      const slot = el.querySelector(`[data-field="${CSS.escape(field)}"]`);
      if (slot) {
        slot.querySelector('.field-error').textContent = message;
        slot.querySelector('input, select, textarea')?.setAttribute('aria-invalid', 'true');
      } else unplaced.push(`${field}: ${message}`);
    }
    if (!(err instanceof ApiError) || err.fieldErrors.length === 0 || unplaced.length) {
      fill(general, note('error', unplaced.length ? unplaced.join('; ') : errorText(err)));
    }
  }
  el.showErrors = showErrors;
  el.inputs = inputs;
  return el;
}

/** A collapsible panel holding a form or anything else. */
export function panel(summary, content, { open = false, id } = {}) {
  return h('details', { class: 'panel', open, id }, h('summary', {}, summary), h('div', { class: 'panel-body' }, content));
}

/**
 * A table: `columns` [{label, cell(row) → node|text, class}]; on a phone each row becomes a
 * card, each cell labelled by its column.
 */
export function table(columns, rows, { empty = t('empty'), rowClass } = {}) {
  if (!rows.length) return note('info', empty);
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      h('tbody', {}, rows.map((r) =>
        h('tr', { class: rowClass?.(r) }, columns.map((c) => h('td', { 'data-label': c.label, class: c.class }, c.cell(r))))))));
}

/**
 * Previous / next buttons over cursor pages. `cursors` are the cursors of the pages before this
 * one (kept in the address, comma-separated); `apply` changes the address's parameters.
 */
export function pager(page, cursors, apply) {
  const hasNext = page.next_cursor !== null && page.next_cursor !== undefined;
  return h('nav', { class: 'pager', 'aria-label': t('pager') },
    h('button', { type: 'button', disabled: cursors.length === 0, onclick: () => apply({ cursors: cursors.slice(0, -1).join(',') }) }, `← ${t('previous')}`),
    h('span', { class: 'muted' }, t('page.n', cursors.length + 1)),
    h('button', { type: 'button', disabled: !hasNext, onclick: () => apply({ cursors: [...cursors, page.next_cursor].join(',') }) }, `${t('next')} →`));
}

/** A definition list from [label, value] pairs. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v ?? '—'))));
}

/** A `datetime-local` value (to the second) for an instant, in the user's time zone. */
export function localInputValue(iso) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Today's date (the user's calendar) as YYYY-MM-DD. */
export function today() {
  return localInputValue(new Date().toISOString()).slice(0, 10);
}

/** The current route: view name, id, and query parameters (#/<name>/<id>?<params>). */
export function route() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [name = '', id] = path.split('/');
  return { name, id: id ? decodeURIComponent(id) : undefined, params: new URLSearchParams(query) };
}

/** Goes to `#/<path>` with `params` (empty ones left out); renders again if already there. */
export function go(path, params = {}) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  const hash = `#/${path}${q.toString() ? `?${q}` : ''}`;
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}
