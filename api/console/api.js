// Talking to the KLG API: the session's token (sessionStorage, never in a URL), JSON calls
// whose failures carry the RFC 9457 problem, uploads with progress, downloads, and which
// operations the token's role may call (read from the OpenAPI document the server enforces).

const TOKEN_KEY = 'klg.token';
const ME_KEY = 'klg.me';

/** The API's refusal: HTTP status and the problem+json body (with `errors[]` for fields). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  /** [{field, message}] named by a 422. */
  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

let unauthorized = () => {};
/** What to do when a call answers 401 (the token expired or was revoked). */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get me() {
    try {
      return JSON.parse(sessionStorage.getItem(ME_KEY) || 'null');
    } catch {
      return null;
    }
  },
  save(token, me) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(ME_KEY, JSON.stringify(me));
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ME_KEY);
    lastPosition = null;
  },
};

// The global log position of this session's last command: reads of the projections pass it as
// `min_position` so that they show what the user has just done.
let lastPosition = null;

/** `path` with `params` (absent and empty values left out) as its query string. */
export function withQuery(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** A read of the projections: reflects this session's last command. */
export function fresh(path, params = {}) {
  return withQuery(path, { ...params, min_position: lastPosition ?? undefined });
}

function authHeaders(token = session.token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function problemOf(response) {
  const type = response.headers.get('content-type') || '';
  if (type.includes('json')) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }
  return { detail: (await response.text()).slice(0, 500) };
}

/**
 * Calls the API. `body` is sent as JSON; `as` is 'json' (default), 'text' or 'response'.
 * Throws ApiError for any non-2xx answer (and signs out on 401).
 */
export async function api(path, { method = 'GET', body, headers = {}, as = 'json', token } = {}) {
  const init = { method, headers: { ...authHeaders(token), ...headers } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    const problem = await problemOf(response);
    if (response.status === 401 && !token) unauthorized(problem);
    throw new ApiError(response.status, problem);
  }
  if (as === 'response') return response;
  if (as === 'text') return response.text();
  const result = response.status === 204 ? null : await response.json();
  if (method !== 'GET' && result && typeof result.position === 'number') lastPosition = result.position;
  return result;
}

/** A command: POST (or `method`) with a JSON body. */
export function command(path, body, method = 'POST') {
  return api(path, { method, body });
}

/** Uploads a file to the inbox with XMLHttpRequest, reporting progress (loaded, total). */
export function upload(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/inbox/files');
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size));
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        if (typeof xhr.response?.position === 'number') lastPosition = xhr.response.position;
        resolve(xhr.response);
      } else {
        if (xhr.status === 401) unauthorized(xhr.response);
        reject(new ApiError(xhr.status, xhr.response));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, { detail: 'network error' })));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

/** Saves what `path` answers as a file (the token travels in a header, not the URL). */
export async function download(path, filename, headers = {}) {
  const response = await api(path, { as: 'response', headers });
  saveBlob(await response.blob(), filename);
  return response;
}

/** Offers `blob` to the user as a download named `filename`. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Who may call what: route pattern → method → roles, from the OpenAPI document (the same
// declarations the server's authentication enforces).
let access = null;

export async function loadAccess() {
  if (access) return access;
  const doc = await (await fetch('/api-docs/openapi.json')).json();
  const table = {};
  const fallback = doc.security;
  for (const [pattern, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      const security = op.security ?? fallback ?? [];
      const isPublic = security.length === 0 || security.some((s) => Object.keys(s).length === 0);
      const roles = isPublic ? ['*'] : security.flatMap((s) => s.bearer || []);
      (table[pattern] ||= {})[method.toUpperCase()] = roles;
    }
  }
  access = table;
  return access;
}

/** Whether the signed-in role may call `method` on the route `pattern`. */
export function can(method, pattern) {
  const roles = access?.[pattern]?.[method];
  const role = session.me?.role;
  return Boolean(roles && role && (roles.includes('*') || roles.includes(role)));
}
