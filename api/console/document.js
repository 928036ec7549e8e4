// One inbox document: its state (or its state "as of" an earlier instant), download, the
// commands on it (classify, link to an aircraft, process, reject, archive) and its timeline.

import { api, can, command, fresh, ApiError } from './api.js';
import { t } from './i18n.js';
import { h, fill, form, panel, badge, facts, time, bytes, note, errorText } from './ui.js';
import { asOfBar, timelineList } from './timeline.js';
import { DOCUMENT_TYPES, downloadButton, registrations } from './inbox.js';

export async function documentView(root, { id, params }) {
  const asOf = params.get('as_of');
  const path = `inbox/${id}`;
  const head = h('div', { class: 'view-head' }, h('a', { href: '#/inbox', class: 'back' }, `← ${t('nav.inbox')}`));
  const body = h('div', { class: 'record' }, h('p', { class: 'muted loading' }, t('loading')));
  fill(root, head, asOfBar(path, asOf), body);

  let d;
  let fleet;
  try {
    [d, fleet] = await Promise.all([
      api(fresh(`/api/inbox/files/${encodeURIComponent(id)}`, { as_of: asOf || undefined })),
      registrations(),
    ]);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    const text = err instanceof ApiError && err.status === 404 && asOf ? t('asof.notyet') : errorText(err);
    return fill(body, note('error', text));
  }
  head.append(h('h1', {}, h('span', { class: 'filename', id: 'document-name' }, d.filename), ' ', badge('inbox_status', d.status)));
  document.title = `${d.filename} — KLG`;
  const linked = d.aircraft_id ? fleet[d.aircraft_id] : null;
  const timeline = h('div', { id: 'timeline' });
  const forms = asOf ? [] : commandForms(d, fleet);
  fill(body,
    h('div', { class: 'columns' },
      h('div', {},
        h('h2', {}, t('document.details')),
        facts([
          [t('field.document_type'), d.document_type ? h('span', { id: 'document-type' }, t(`document_type.${d.document_type}`)) : h('span', { id: 'document-type', class: 'muted' }, t('document.unclassified'))],
          [t('field.aircraft'), d.aircraft_id ? h('a', { href: `#/aircraft/${d.aircraft_id}` }, linked?.registration_number || d.aircraft_id) : '—'],
          [t('field.content_type'), d.content_type],
          [t('field.size'), bytes(d.size_bytes)],
          [t('field.source'), d.source],
          [t('field.sha256'), h('code', { class: 'hash' }, d.sha256)],
          [t('field.created_at'), time(d.created_at)],
          d.classified_at ? [t('field.classified_at'), time(d.classified_at)] : null,
          d.processed_at ? [t('field.processed_at'), time(d.processed_at)] : null,
          d.processing_note ? [t('field.note'), d.processing_note] : null,
          d.rejected_at ? [t('field.rejected_at'), time(d.rejected_at)] : null,
          d.rejection_reason ? [t('field.reason'), d.rejection_reason] : null,
          d.archived_at ? [t('field.archived_at'), time(d.archived_at)] : null,
          [t('field.version'), d.version],
        ]),
        downloadButton(d)),
      forms.length ? h('div', { class: 'commands' }, h('h2', {}, t('document.actions')), forms) : null),
    can('GET', '/api/inbox/files/{id}/timeline') ? [h('h2', {}, t('timeline.title')), timeline] : null);

  if (can('GET', '/api/inbox/files/{id}/timeline')) {
    try {
      const { items } = await api(`/api/inbox/files/${encodeURIComponent(id)}/timeline`);
      fill(timeline, timelineList(items, { path, asOf }));
    } catch (err) {
      fill(timeline, note('error', errorText(err)));
    }
  }
}

function commandForms(d, fleet) {
  const base = `/api/inbox/files/${d.id}`;
  const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  const done = ['processed', 'rejected', 'archived'].includes(d.status);
  const forms = [];
  const add = (pattern, key, fields, body, open = false) => {
    if (!can('POST', `/api/inbox/files/{id}/${pattern}`)) return;
    forms.push(panel(t(`document.${key}`), form({
      id: key,
      fields,
      submit: t(`document.${key}.submit`),
      onSubmit: async (v) => {
        await command(`${base}/${pattern}`, body(v));
        rerender();
      },
    }), { open, id: `${key}-panel` }));
  };
  if (d.status !== 'archived') {
    add('classify', 'classify', [
      { name: 'document_type', label: t('field.document_type'), type: 'select', value: d.document_type || 'airworthiness_directive', options: DOCUMENT_TYPES.map((x) => [x, t(`document_type.${x}`)]) },
    ], (v) => v, !d.document_type);
    const options = Object.values(fleet).filter((a) => a.status !== 'decommissioned').map((a) => [a.id, a.registration_number]);
    add('link', 'link', [
      { name: 'aircraft_id', label: t('field.aircraft'), type: 'select', value: d.aircraft_id || undefined, options: [['', '—'], ...options] },
    ], (v) => v);
  }
  if (!done) {
    add('process', 'process', [{ name: 'note', label: t('field.note'), type: 'textarea', required: true }], (v) => v);
    add('reject', 'reject', [{ name: 'reason', label: t('field.reason'), type: 'textarea', required: true }], (v) => v);
  }
  if (d.status !== 'archived') add('archive', 'archive', [], () => ({}));
  return forms;
}
