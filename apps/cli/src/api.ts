/** A thin admin API client: the CLI is the API, typed at a prompt. */
export interface ApiOptions {
  url: string;
  key?: string | undefined;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api(
  options: ApiOptions,
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
): Promise<unknown> {
  const response = await fetch(`${options.url.replace(/\/$/, "")}${path}`, {
    method,
    headers: {
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...(body !== undefined ? { "content-type": contentType } : {}),
    },
    ...(body !== undefined
      ? { body: contentType === "application/json" ? JSON.stringify(body) : (body as Buffer) }
      : {}),
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiFailure(response.status, `${response.status} ${error?.code ?? ""}: ${error?.message ?? text}`);
  }
  return json;
}
