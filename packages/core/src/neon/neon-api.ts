// A small client of Neon's HTTP API (https://api-docs.neon.tech), written against its documented endpoints:
//   POST   /projects/{project_id}/branches                 create a branch (with a read_write endpoint)
//   GET    /projects/{project_id}/endpoints/{endpoint_id}  the branch behind the target's endpoint
//   GET    /projects/{project_id}/operations/{operation_id} poll until the operation is "finished"
//   DELETE /projects/{project_id}/branches/{branch_id}     drop a rehearsal branch
// It cannot reach Neon from this project's machines (no network but package registries): its tests run it against a
// local server that answers like the documented API. The API key is sent only in the Authorization header and is
// remembered as a secret, so `redact` removes it from anything Polymigrate prints.
import { MigrateError } from "../model/errors.js";
import { redact, redactUrl, rememberSecret } from "../policy/redact.js";

export const DEFAULT_NEON_API_URL = "https://console.neon.tech/api/v2";
export const DEFAULT_NEON_API_KEY_ENV = "NEON_API_KEY";

/** The `neon` field of a project's configuration. */
export interface NeonConfig {
  /** The Neon project id (Settings → General in Neon's console), e.g. "still-sun-123456". */
  projectId: string;
  /** The environment variable holding the Neon API key; default `NEON_API_KEY`. Never put the key itself here. */
  apiKeyEnv?: string;
  /** The API's base URL; default `https://console.neon.tech/api/v2`. */
  apiUrl?: string;
}

/** What a call to Neon's API needs: the project, the key (from the environment) and the base URL. */
export interface NeonSettings {
  projectId: string;
  apiKey: string;
  apiUrl: string;
  /** Per request; default 30 s. */
  requestTimeoutMs?: number;
  /** How long to wait for the branch's operations; default 5 min. */
  operationTimeoutMs?: number;
  /** Between two polls of an operation; default 1 s. */
  pollIntervalMs?: number;
}

/**
 * Resolves a project's Neon settings: the configuration's `neon` field and its API key variable. Throws CONFIG_INVALID
 * (a refusal, exit 2) naming what is missing, for a command that needs Neon (`up --branch-first`).
 */
export function resolveNeonSettings(
  neon: NeonConfig | undefined,
  env: Record<string, string | undefined>,
  context: { project: string; flag: string; instead?: string },
): NeonSettings {
  const instead = context.instead ?? `run without ${context.flag}`;
  if (!neon || typeof neon !== "object" || typeof neon.projectId !== "string" || neon.projectId.length === 0) {
    throw new MigrateError(
      "CONFIG_INVALID",
      `${context.flag} needs Neon: project "${context.project}" has no "neon" configuration. Add neon: { projectId: "<your Neon project id>" } to the project in migrate.config, or ${instead}.`,
      { details: { project: context.project } },
    );
  }
  const keyEnv = neon.apiKeyEnv ?? DEFAULT_NEON_API_KEY_ENV;
  const apiKey = env[keyEnv];
  if (!apiKey) {
    throw new MigrateError(
      "CONFIG_INVALID",
      `${context.flag} needs a Neon API key: the variable "${keyEnv}" is not set. Set it to an API key of Neon project "${neon.projectId}" (Neon console → Account settings → API keys), or ${instead}.`,
      { details: { project: context.project, apiKeyEnv: keyEnv } },
    );
  }
  rememberSecret(apiKey);
  return { projectId: neon.projectId, apiKey, apiUrl: (neon.apiUrl ?? DEFAULT_NEON_API_URL).replace(/\/+$/, "") };
}

interface NeonOperation {
  id: string;
  status: string;
  action?: string;
  error?: string;
}

/** A branch Neon created, with the host of its read_write endpoint. */
export interface NeonBranch {
  id: string;
  name: string;
  parentId?: string;
  /** The read_write endpoint's host (e.g. ep-cool-darkness-123456.us-east-2.aws.neon.tech). */
  host: string;
  /** The operations Neon started for it (all finished when {@link createNeonBranch} returns). */
  operationIds: string[];
}

function unreachable(settings: NeonSettings, what: string, cause: unknown): MigrateError {
  const reason = cause instanceof Error && cause.name === "TimeoutError"
    ? `no answer within ${Math.round((settings.requestTimeoutMs ?? 30_000) / 1000)} s`
    : redact(String((cause as { cause?: unknown })?.cause ?? cause));
  return new MigrateError(
    "TOOL_UNAVAILABLE",
    `Could not reach Neon's API at "${redact(settings.apiUrl)}" to ${what}: ${reason}. Check the network, the "neon.apiUrl" setting and Neon's status page, then run again.`,
    { details: { apiUrl: redact(settings.apiUrl) }, cause },
  );
}

async function neonRequest<T>(settings: NeonSettings, method: string, path: string, what: string, body?: unknown): Promise<T> {
  rememberSecret(settings.apiKey);
  let response: Response;
  try {
    response = await fetch(`${settings.apiUrl}${path}`, {
      method,
      headers: {
        Accept: "application/json",
        Authorization: `Bearer ${settings.apiKey}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(settings.requestTimeoutMs ?? 30_000),
    });
  } catch (cause) {
    throw unreachable(settings, what, cause);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (cause) {
    throw unreachable(settings, what, cause);
  }
  if (!response.ok) {
    let message = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (typeof parsed.message === "string") message = parsed.message;
    } catch {
      // not JSON: the start of the body says enough
    }
    const hint =
      response.status === 401 || response.status === 403
        ? "Check that the API key variable holds a valid Neon API key with access to the project"
        : response.status === 404
          ? `Check "neon.projectId" ("${settings.projectId}") and that the branch or endpoint still exists`
          : response.status === 423 || response.status === 429
            ? "Neon is busy with another operation on the project or limits the rate: wait a moment and run again"
            : "Check Neon's status page and the project's limits (branches, computes), then run again";
    const code = response.status >= 500 || response.status === 429 || response.status === 423 ? "TOOL_UNAVAILABLE" : "CONFIG_INVALID";
    throw new MigrateError(code, `Neon's API refused to ${what} (HTTP ${response.status}): ${redact(message)}. ${hint}.`, {
      details: { status: response.status, path },
    });
  }
  try {
    return (text ? JSON.parse(text) : {}) as T;
  } catch (cause) {
    throw new MigrateError("TOOL_UNAVAILABLE", `Neon's API answered "${path}" with something that is not JSON. Check "neon.apiUrl" ("${redact(settings.apiUrl)}"): it should be Neon's API, such as "${DEFAULT_NEON_API_URL}".`, { cause });
  }
}

/** Polls `GET /projects/{project_id}/operations/{operation_id}` for each operation until it is `finished`. */
export async function waitForNeonOperations(settings: NeonSettings, operationIds: string[]): Promise<void> {
  const deadline = Date.now() + (settings.operationTimeoutMs ?? 300_000);
  const interval = settings.pollIntervalMs ?? 1_000;
  for (const id of operationIds) {
    for (;;) {
      const { operation } = await neonRequest<{ operation?: NeonOperation }>(
        settings,
        "GET",
        `/projects/${encodeURIComponent(settings.projectId)}/operations/${encodeURIComponent(id)}`,
        `read operation "${id}"`,
      );
      const status = operation?.status ?? "unknown";
      if (status === "finished" || status === "skipped") break;
      if (status === "failed" || status === "error" || status === "cancelled" || status === "cancelling") {
        throw new MigrateError(
          "TOOL_UNAVAILABLE",
          `Neon operation "${id}" (${operation?.action ?? "unknown action"}) ended "${status}"${operation?.error ? `: ${redact(operation.error)}` : ""}. Look at the project's operations in Neon's console, then run again.`,
          { details: { operation: id, status } },
        );
      }
      if (Date.now() > deadline) {
        throw new MigrateError(
          "TOOL_UNAVAILABLE",
          `Neon operation "${id}" is still "${status}" after ${Math.round((settings.operationTimeoutMs ?? 300_000) / 1000)} s. Look at it in Neon's console, then run again.`,
          { details: { operation: id, status } },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }
}

/** The endpoint id in a Neon host: `ep-cool-darkness-123456` of `ep-cool-darkness-123456[-pooler].region.aws.neon.tech`. */
export function neonEndpointIdOfHost(host: string): string | undefined {
  const label = host.split(".")[0] ?? "";
  return /^ep-[a-z0-9-]+$/.test(label) ? label.replace(/-pooler$/, "") : undefined;
}

/** Options of {@link createNeonBranch}. */
export interface CreateNeonBranchOptions {
  settings: NeonSettings;
  name: string;
  /** The parent branch; absent: the branch behind `targetUrl`'s endpoint, else the project's default branch. */
  parentId?: string;
  /** The target's URL: its host names the endpoint whose branch is the parent. */
  targetUrl?: string;
  parentLsn?: string;
  parentTimestamp?: string;
}

/**
 * Creates a branch with a read_write endpoint (`POST /projects/{project_id}/branches`) and waits for its operations.
 * The parent is `parentId`, else the branch of the target URL's endpoint (`GET .../endpoints/{endpoint_id}`), else
 * the project's default branch.
 */
export async function createNeonBranch(options: CreateNeonBranchOptions): Promise<NeonBranch> {
  const { settings } = options;
  const project = encodeURIComponent(settings.projectId);
  let parentId = options.parentId;
  if (!parentId && options.targetUrl) {
    const endpointId = neonEndpointIdOfHost(new URL(options.targetUrl).hostname);
    if (endpointId) {
      const { endpoint } = await neonRequest<{ endpoint?: { branch_id?: string } }>(
        settings,
        "GET",
        `/projects/${project}/endpoints/${encodeURIComponent(endpointId)}`,
        `find the branch of endpoint "${endpointId}"`,
      );
      parentId = endpoint?.branch_id;
    }
  }
  const branch: Record<string, string> = { name: options.name };
  if (parentId) branch.parent_id = parentId;
  if (options.parentLsn) branch.parent_lsn = options.parentLsn;
  if (options.parentTimestamp) branch.parent_timestamp = options.parentTimestamp;
  const created = await neonRequest<{
    branch?: { id?: string; name?: string; parent_id?: string };
    endpoints?: Array<{ host?: string; type?: string }>;
    operations?: NeonOperation[];
  }>(settings, "POST", `/projects/${project}/branches`, `create branch "${options.name}"`, {
    branch,
    endpoints: [{ type: "read_write" }],
  });
  const host = created.endpoints?.find((endpoint) => endpoint.type === undefined || endpoint.type === "read_write")?.host ?? created.endpoints?.[0]?.host;
  if (!created.branch?.id || !host) {
    throw new MigrateError("TOOL_UNAVAILABLE", `Neon's API answered the creation of branch "${options.name}" without a branch id or an endpoint host. Check "neon.apiUrl" ("${redact(settings.apiUrl)}"), then run again.`);
  }
  const operationIds = (created.operations ?? []).map((operation) => operation.id).filter(Boolean);
  await waitForNeonOperations(settings, operationIds);
  return {
    id: created.branch.id,
    name: created.branch.name ?? options.name,
    ...(created.branch.parent_id ?? parentId ? { parentId: (created.branch.parent_id ?? parentId)! } : {}),
    host,
    operationIds,
  };
}

/** Deletes a branch (`DELETE /projects/{project_id}/branches/{branch_id}`) and waits for its operations. */
export async function deleteNeonBranch(options: { settings: NeonSettings; branchId: string }): Promise<void> {
  const { settings, branchId } = options;
  const deleted = await neonRequest<{ operations?: NeonOperation[] }>(
    settings,
    "DELETE",
    `/projects/${encodeURIComponent(settings.projectId)}/branches/${encodeURIComponent(branchId)}`,
    `delete branch "${branchId}"`,
  );
  await waitForNeonOperations(settings, (deleted.operations ?? []).map((operation) => operation.id).filter(Boolean));
}

/** The branch's connection URL: the target's URL (same role, password and database) with the endpoint's host. */
export function neonBranchUrl(targetUrl: string, host: string): string {
  const url = new URL(targetUrl);
  url.hostname = host;
  return url.toString();
}

/** The branch's URL for display: password removed. */
export function neonBranchDisplayUrl(targetUrl: string, host: string): string {
  return redactUrl(neonBranchUrl(targetUrl, host));
}

/** `polymigrate-before-<timestamp>`, e.g. polymigrate-before-20260102T030405Z. */
export function branchFirstName(now: Date = new Date()): string {
  return `polymigrate-before-${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`;
}
