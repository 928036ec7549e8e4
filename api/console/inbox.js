// The inbox: documents newest first, filtered by status and type, in cursor pages; uploading a
// file with a progress bar; downloading one.

import { api, can, download, fresh, upload } from './api.js';
import { t } from './i18n.js';
import { h, fill, panel, table, pager, badge, time, bytes, load, go, note, errorText } from './ui.js';

export const INBOX_STATUSES = ['received', 'classified', 'processed', 'rejected', 'archived'];
export const DOCUMENT_TYPES = ['airworthiness_directive', 'service_bulletin', 'work_order', 'parts_request', 'certificate', 'other'];

/** Registration numbers by aircraft id (one page of the fleet), to name linked aircraft. */
export async function registrations() {
  if (!can('GET', '/api/v1/aircraft')) return {};
  const page = await api(fresh('/api/v1/aircraft', { limit: 200 }));
  return Object.fromEntries(page.items.map((a) => [a.id, a]));
}

export async function inboxView(root, { params }) {
  const filters = { status: params.get('status') || '', document_type: params.get('document_type') || '' };
  const cursors = (params.get('cursors') || '').split(',').filter(Boolean);
  const apply = (changes) => go('inbox', { ...filters, ...changes });
  const list = h('div', { class: 'list' });

  const filterBar = h('form', { class: 'filters', onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    apply({ status: data.get('status'), document_type: data.get('document_type') });
  } },
  h('select', { name: 'status', 'aria-label': t('field.status') }, h('option', { value: '' }, t('fleet.any_status')),
    INBOX_STATUSES.map((s) => h('option', { value: s, selected: s === filters.status }, t(`inbox_status.${s}`)))),
  h('select', { name: 'document_type', 'aria-label': t('field.document_type') }, h('option', { value: '' }, t('inbox.any_type')),
    DOCUMENT_TYPES.map((s) => h('option', { value: s, selected: s === filters.document_type }, t(`document_type.${s}`)))),
  h('button', { type: 'submit' }, t('apply')));

  fill(root,
    h('div', { class: 'view-head' }, h('h1', {}, t('nav.inbox'))),
    can('POST', '/api/inbox/files') ? panel(t('inbox.upload'), uploadForm(() => renderList()), { open: true, id: 'upload-panel' }) : null,
    filterBar,
    list);

  await renderList();

  async function renderList() {
    const query = { ...filters, limit: 25, cursor: cursors[cursors.length - 1] };
    const [page, aircraft] = await Promise.all([api(fresh('/api/inbox/files', query)), registrations()]).catch((err) => {
      fill(list, note('error', errorText(err)));
      return [];
    });
    if (!page) return;
    await load(list, Promise.resolve(page), () => [
      table([
        { label: t('field.created_at'), cell: (d) => time(d.created_at) },
        { label: t('field.filename'), cell: (d) => h('a', { href: `#/inbox/${d.id}`, class: 'filename' }, d.filename) },
        { label: t('field.document_type'), cell: (d) => (d.document_type ? t(`document_type.${d.document_type}`) : h('span', { class: 'muted' }, '—')) },
        { label: t('field.status'), cell: (d) => badge('inbox_status', d.status) },
        { label: t('field.aircraft'), cell: (d) => (d.aircraft_id ? h('a', { href: `#/aircraft/${d.aircraft_id}` }, aircraft[d.aircraft_id]?.registration_number || d.aircraft_id.slice(0, 8)) : '—') },
        { label: t('field.size'), class: 'num', cell: (d) => bytes(d.size_bytes) },
        { label: '', cell: (d) => downloadButton(d) },
      ], page.items, { empty: t('inbox.empty') }),
      pager(page, cursors, apply),
    ]);
  }
}

/** A button that downloads the document's bytes. */
export function downloadButton(d) {
  const status = h('span', { class: 'field-error' });
  return h('span', {}, h('button', { type: 'button', class: 'small download', onclick: async () => {
    try {
      status.textContent = '';
      await download(`/api/inbox/files/${d.id}/content`, d.filename);
    } catch (err) {
      status.textContent = errorText(err);
    }
  } }, `⤓ ${t('inbox.download')}`), status);
}

function uploadForm(uploaded) {
  const file = h('input', { type: 'file', id: 'upload-file', name: 'file', required: true });
  const progress = h('progress', { id: 'upload-progress', max: 100, value: 0, hidden: true });
  const percent = h('span', { class: 'muted small', id: 'upload-percent' });
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const error = h('span', { class: 'field-error', id: 'upload-file-error' });
  const button = h('button', { type: 'submit', class: 'primary' }, t('inbox.upload.submit'));
  return h('form', { id: 'upload', class: 'form', onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    fill(status);
    const chosen = file.files[0];
    if (!chosen) {
      error.textContent = t('inbox.upload.choose');
      return;
    }
    button.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    try {
      const created = await upload(chosen, (loaded, total) => {
        const p = total ? Math.round((loaded / total) * 100) : 0;
        progress.value = p;
        percent.textContent = `${p} %`;
      });
      progress.value = 100;
      percent.textContent = '100 %';
      fill(status, note('ok', t('inbox.uploaded'), ' ', h('a', { href: `#/inbox/${created.id}`, id: 'uploaded-link' }, chosen.name)));
      file.value = '';
      uploaded();
    } catch (err) {
      const field = err.fieldErrors?.find((f) => f.field === 'file');
      if (field) error.textContent = field.message;
      else fill(status, note('error', errorText(err)));
    } finally {
      button.disabled = false;
    }
  } },
  h('div', { class: 'fields' }, h('div', { class: 'field', dataset: { field: 'file' } }, h('label', { for: 'upload-file' }, t('inbox.file')), file, error)),
  h('div', { class: 'actions' }, button, progress, percent),
  status);
}
