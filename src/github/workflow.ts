/**
 * The workflow and its inputs (SPEC §5.2): which workflow, on which ref, with which inputs.
 * The workflow file is read through the contents API (at the ref that will be dispatched) and
 * parsed with `yaml`; only inputs it declares are sent.
 */
import { envJson, type Env } from '../config.js';
import {
  autoNumberInput,
  checkInputs,
  collectInputs,
  InputSyntaxError,
  inputsForDisplay,
  workflowTriggers,
  type DeclaredInput,
  type InputValue,
} from '../core/inputs.js';
import { OperationalError, UsageError } from '../errors.js';
import type { GitHubClient } from './client.js';

export interface WorkflowInfo {
  id: number;
  name: string;
  /** `.github/workflows/<file>` */
  path: string;
  state: string;
  htmlUrl: string;
}

export async function getWorkflow(gh: GitHubClient): Promise<WorkflowInfo> {
  const { workflowId, owner, repo } = gh.settings;
  const { data } = await gh.call(`workflow ${workflowId} in ${owner}/${repo}`, () =>
    gh.octokit.request('GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}', { ...gh.repo, workflow_id: workflowId }),
  );
  return { id: data.id, name: data.name, path: data.path, state: data.state, htmlUrl: data.html_url };
}

/** GITHUB_REF, or the repository's default branch. */
export async function resolveRef(gh: GitHubClient): Promise<string> {
  if (gh.settings.ref) return gh.settings.ref;
  const { owner, repo } = gh.settings;
  const { data } = await gh.call(`repository ${owner}/${repo}`, () => gh.octokit.request('GET /repos/{owner}/{repo}', gh.repo));
  return data.default_branch;
}

/** The text of a file in the repository at `ref`. */
export async function readRepoFile(gh: GitHubClient, path: string, ref: string): Promise<string> {
  const { owner, repo } = gh.settings;
  // Encode each segment but keep the slashes (octokit would encode them as %2F).
  const encoded = path.split('/').map(encodeURIComponent).join('/');
  const { data } = await gh.call(`file ${path} at ${ref} in ${owner}/${repo}`, () =>
    gh.octokit.request(`GET /repos/{owner}/{repo}/contents/${encoded}`, { ...gh.repo, ref }),
  );
  const file = data as { type?: string; encoding?: string; content?: string };
  if (Array.isArray(data) || file.type !== 'file' || typeof file.content !== 'string') {
    throw new OperationalError(`${path} at ${ref} in ${owner}/${repo} is not a file`);
  }
  return file.encoding === 'base64' ? Buffer.from(file.content, 'base64').toString('utf8') : file.content;
}

/** The `workflow_dispatch` inputs the workflow declares at `ref`. */
export async function declaredInputs(gh: GitHubClient, workflow: WorkflowInfo, ref: string): Promise<Record<string, DeclaredInput>> {
  const text = await readRepoFile(gh, workflow.path, ref);
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new OperationalError(`cannot parse ${workflow.path} at ${ref}: ${(e as Error).message.split('\n')[0]}`);
  }
  let triggers;
  try {
    triggers = workflowTriggers(doc);
  } catch (e) {
    throw new OperationalError(`${workflow.path} at ${ref}: ${(e as Error).message}`);
  }
  if (!triggers.dispatchable) {
    throw new UsageError(
      `${workflow.path} at ${ref} has no workflow_dispatch trigger, so it cannot be started from cookie-pool`,
      'use the Cursor-Register workflow (GITHUB_WORKFLOW_ID) or add `workflow_dispatch:` to its `on:` section',
    );
  }
  return triggers.inputs;
}

export interface PreparedDispatch {
  workflow: WorkflowInfo;
  ref: string;
  /** Inputs to send (declared, validated, as strings). Never printed: see `shown`. */
  inputs: Record<string, string>;
  /** The same inputs for logs and output: free-text and secret-named values hidden. */
  shown: Record<string, string>;
  /** Configured inputs that were dropped (undeclared), `name (from SOURCE)`. */
  dropped: string[];
  declared: Record<string, DeclaredInput>;
}

export interface DispatchOptions {
  /**
   * Sizes `number=auto` (SPEC §10: refresh knows its targets); without it the auto value is not
   * sent (the workflow's default applies) and a warning says so.
   */
  autoNumber?: () => Promise<{ number: number; why: string }>;
}

/**
 * Everything a dispatch needs, checked before anything is sent: the workflow (enabled), the ref,
 * and the inputs (undeclared ones dropped with a warning; bad values and missing required ones
 * are usage errors, exit 2).
 */
export async function prepareDispatch(
  gh: GitHubClient,
  env: Env,
  pairs: readonly string[],
  refOverride?: string,
  opts: DispatchOptions = {},
): Promise<PreparedDispatch> {
  let configured;
  try {
    configured = collectInputs(env, envJson(env, 'WORKFLOW_INPUTS'), pairs);
  } catch (e) {
    if (e instanceof InputSyntaxError) throw new UsageError(e.message);
    throw e;
  }
  const workflow = await getWorkflow(gh);
  if (workflow.state !== 'active') {
    throw new OperationalError(
      `workflow ${workflow.path} is ${workflow.state.replace(/_/g, ' ')}`,
      `enable it in the Actions tab of ${gh.settings.owner}/${gh.settings.repo} (${workflow.htmlUrl})`,
    );
  }
  const ref = refOverride ?? (await resolveRef(gh));
  const declared = await declaredInputs(gh, workflow, ref);
  const auto = autoNumberInput(configured);
  if (auto) {
    requireNumberInput(declared, auto, `${workflow.path} at ${ref}`);
    if (opts.autoNumber) {
      const sized = await opts.autoNumber();
      configured.number = { value: String(sized.number), source: `${auto.source}=auto` };
      gh.io.info(`number=auto: ${sized.why}`);
    } else {
      delete configured.number;
      gh.io.warn(`number=auto (from ${auto.source}) is sized by refresh only: not sent, the workflow's default applies`);
    }
  }
  const check = checkInputs(declared, configured);
  if (check.droppedNames.length) {
    gh.io.warn(`not sending input(s) the workflow does not declare: ${check.droppedNames.join(', ')}`);
  }
  if (check.errors.length) {
    const lines = check.errors.map((e) => `  - ${e}`).join('\n');
    throw new UsageError(`invalid workflow input(s) for ${workflow.path}:\n${lines}`);
  }
  return { workflow, ref, inputs: check.inputs, shown: inputsForDisplay(check.inputs, declared), dropped: check.droppedNames, declared };
}

/** `number=auto` needs a workflow that takes a `number` input: exit 2 naming the workflow otherwise. */
export function requireNumberInput(declared: Record<string, DeclaredInput>, auto: InputValue, workflow: string): void {
  if (declared.number) return;
  const names = Object.keys(declared);
  throw new UsageError(
    `number=auto (from ${auto.source}) needs a "number" input, but ${workflow} declares none (${names.length ? `inputs: ${names.join(', ')}` : 'no inputs'})`,
    'set REGISTER_NUMBER to a number or unset it (and drop --number auto), or point GITHUB_WORKFLOW_ID at the Cursor-Register workflow',
  );
}
