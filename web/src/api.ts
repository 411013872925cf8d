// Requests to the platform with the user's bearer token; a 401 ends the session.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

export interface Api {
  json<T>(path: string, init?: RequestInit): Promise<T>;
  blob(path: string): Promise<Blob>;
  text(path: string): Promise<string>;
  token(): string;
}

export function makeApi(token: () => string, onUnauthenticated: () => void): Api {
  async function send(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${token()}`);
    const answer = await fetch(path, { ...init, headers });
    if (answer.ok) return answer;
    let code = 'error';
    let detail = `${answer.status} ${answer.statusText}`;
    try {
      const body = (await answer.json()) as { error?: string; detail?: string };
      code = body.error ?? code;
      detail = body.detail ?? body.error ?? detail;
    } catch {
      // not JSON: the status line says enough
    }
    if (answer.status === 401) onUnauthenticated();
    throw new ApiError(answer.status, code, detail);
  }
  return {
    async json<T>(path: string, init?: RequestInit) {
      return (await (await send(path, init)).json()) as T;
    },
    async blob(path: string) {
      return (await send(path)).blob();
    },
    async text(path: string) {
      return (await send(path)).text();
    },
    token,
  };
}

export const WORKLIST = '/function/worklist';
export const DICOMWEB = `${WORKLIST}/dicomweb`;
export const REPORTS = '/function/report';
export const AUDIT = '/function/audit';
