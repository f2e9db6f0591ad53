// HTTP helpers: the person's token is kept in sessionStorage and sent as a
// bearer token to the Agent API, the console API and the admin API.

// The console and the admin pages keep separate tokens: an operator's admin
// token need not be a live agent's.
const KEY = document.documentElement.dataset.tokenKey || 'switchboard.console.token';

export const token = {
  get: () => sessionStorage.getItem(KEY) || '',
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

// ApiError carries the HTTP status and the server's error object.
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `request failed (HTTP ${status})`);
    this.status = status;
    this.type = e.type || e.code || '';
    this.details = e.details || [];
  }
}

// request sends a request and decodes the JSON answer; non-2xx throws ApiError.
export async function request(method, path, body, opts = {}) {
  const headers = { Authorization: 'Bearer ' + token.get() };
  let payload = body;
  if (body !== undefined && !(body instanceof FormData) && !opts.raw) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  } else if (opts.raw) {
    headers['Content-Type'] = 'application/json';
  }
  const resp = await fetch(path, { method, headers, body: payload });
  let data = null;
  const text = await resp.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { raw: text };
    }
  }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return { data, headers: resp.headers };
}

export const get = async (path) => (await request('GET', path)).data;
export const post = async (path, body) => (await request('POST', path, body)).data;

// agent calls a chat.io Agent API action.
export const agent = (action, payload = {}) => post('/agent/v0.4/action/' + action, payload);
