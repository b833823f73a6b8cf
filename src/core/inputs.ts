/**
 * Workflow inputs (SPEC §5.2), the pure part: what a workflow file declares under
 * `on.workflow_dispatch.inputs`, the values the user configured (REGISTER_* variables, then
 * WORKFLOW_INPUTS, then `--input k=v`), and the check of the second against the first.
 * Values go to GitHub as strings, as the dispatch API expects ("true"/"false" for booleans).
 */

export type InputType = 'string' | 'choice' | 'boolean' | 'number' | 'environment';

export interface DeclaredInput {
  name: string;
  type: InputType;
  required: boolean;
  /** The declared default, as a string ("true"/"false" for booleans); undefined when none. */
  default: string | undefined;
  /** Allowed values of a `choice` input. */
  options: string[] | undefined;
  description: string | undefined;
}

export interface WorkflowTriggers {
  /** The workflow can be dispatched (`workflow_dispatch` is among its triggers). */
  dispatchable: boolean;
  inputs: Record<string, DeclaredInput>;
}

/** The REGISTER_* variables of SPEC §3 and the inputs they fill. */
export const REGISTER_VARIABLES: Readonly<Record<string, string>> = {
  REGISTER_NUMBER: 'number',
  REGISTER_MAX_WORKERS: 'max_workers',
  REGISTER_EMAIL_SERVER: 'email_server',
  REGISTER_INGEST_TO_ONEAPI: 'ingest_to_oneapi',
  REGISTER_UPLOAD_ARTIFACT: 'upload_artifact',
  REGISTER_USE_CONFIG_FILE: 'use_config_file',
  REGISTER_EMAIL_CONFIGS: 'email_configs',
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function scalarString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * The `workflow_dispatch` trigger of a parsed workflow document. Accepts the three YAML forms
 * of `on:` (a string, a list, a map). Throws a plain Error when the document is not a workflow.
 */
export function workflowTriggers(doc: unknown): WorkflowTriggers {
  if (!isObject(doc)) throw new Error('the workflow file is not a YAML mapping');
  // YAML 1.1 parsers read a bare `on` key as boolean true; accept both spellings.
  const on = 'on' in doc ? doc.on : (doc as Record<string, unknown>)['true'];
  if (on === undefined) throw new Error('the workflow file has no `on:` triggers');
  if (typeof on === 'string') return { dispatchable: on === 'workflow_dispatch', inputs: {} };
  if (Array.isArray(on)) return { dispatchable: on.includes('workflow_dispatch'), inputs: {} };
  if (!isObject(on)) throw new Error('the workflow file has an unreadable `on:` section');
  if (!('workflow_dispatch' in on)) return { dispatchable: false, inputs: {} };
  const wd = on.workflow_dispatch;
  const inputs: Record<string, DeclaredInput> = {};
  const declared = isObject(wd) && isObject(wd.inputs) ? wd.inputs : {};
  for (const [name, spec] of Object.entries(declared)) {
    const s = isObject(spec) ? spec : {};
    const rawType = typeof s.type === 'string' ? s.type.trim().toLowerCase() : 'string';
    const type: InputType = (['string', 'choice', 'boolean', 'number', 'environment'] as const).find((t) => t === rawType) ?? 'string';
    const options = Array.isArray(s.options) ? s.options.map(scalarString).filter((o): o is string => o !== undefined) : undefined;
    let def = scalarString(s.default);
    if (type === 'boolean' && def !== undefined) def = def.trim().toLowerCase() === 'true' ? 'true' : 'false';
    inputs[name] = {
      name,
      type,
      required: s.required === true || s.required === 'true',
      default: def,
      options: type === 'choice' ? (options ?? []) : undefined,
      description: typeof s.description === 'string' ? s.description : undefined,
    };
  }
  return { dispatchable: true, inputs };
}

/** Where a configured input value came from (for messages). */
export interface InputValue {
  value: string;
  source: string;
}

/** A value that was given but cannot be an input value at all. */
export class InputSyntaxError extends Error {}

/**
 * Gather the configured inputs, later sources winning: the REGISTER_* variables, then the
 * WORKFLOW_INPUTS object (already JSON-parsed), then `--input k=v` pairs.
 */
export function collectInputs(
  env: Readonly<Record<string, string | undefined>>,
  workflowInputs: unknown,
  pairs: readonly string[],
): Record<string, InputValue> {
  const out: Record<string, InputValue> = {};
  for (const [variable, input] of Object.entries(REGISTER_VARIABLES)) {
    const v = env[variable];
    if (v !== undefined && v.trim() !== '') out[input] = { value: v.trim(), source: variable };
  }
  if (workflowInputs !== undefined) {
    if (!isObject(workflowInputs)) throw new InputSyntaxError('WORKFLOW_INPUTS must be a JSON object of input names to values');
    for (const [name, raw] of Object.entries(workflowInputs)) {
      if (raw === null) continue;
      const v = scalarString(raw);
      if (v === undefined) throw new InputSyntaxError(`WORKFLOW_INPUTS: input "${name}" must be a string, number or boolean`);
      out[name] = { value: v, source: 'WORKFLOW_INPUTS' };
    }
  }
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InputSyntaxError(`--input expects name=value, got "${pair}"`);
    out[pair.slice(0, eq).trim()] = { value: pair.slice(eq + 1), source: '--input' };
  }
  return out;
}

/**
 * The configured `number` when its value is `auto` (SPEC §10: sized from the pool and its
 * history), from whichever source set it last.
 */
export function autoNumberInput(configured: Record<string, InputValue>): InputValue | undefined {
  const n = configured.number;
  return n && n.value.trim().toLowerCase() === 'auto' ? n : undefined;
}

/** Input names that say they hold a secret (`email_configs`, `imap_password`, `api_key`, …). */
const SECRET_NAME = /config|pass|secret|token|key/i;

/** What is shown instead of a hidden input value. */
export const HIDDEN_VALUE = '***';

/**
 * Whether an input's value may be printed: only the values of a closed set (a choice, a boolean,
 * a number) whose name does not say secret. Free text (`string` inputs, undeclared ones) may hold
 * anything: `email_configs` holds IMAP passwords.
 */
export function isShownInput(name: string, declared: DeclaredInput | undefined): boolean {
  if (SECRET_NAME.test(name)) return false;
  return declared !== undefined && (declared.type === 'choice' || declared.type === 'boolean' || declared.type === 'number');
}

/** The inputs to print (logs, --dry-run, JSON): every name, the values of free text and secrets hidden. */
export function inputsForDisplay(inputs: Record<string, string>, declared: Record<string, DeclaredInput>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(inputs)) out[name] = isShownInput(name, declared[name]) ? value : HIDDEN_VALUE;
  return out;
}

export interface InputCheck {
  /** What to send: declared inputs that have a value, as strings. */
  inputs: Record<string, string>;
  /** Configured inputs the workflow does not declare (not sent), as `name (from SOURCE)`. */
  droppedNames: string[];
  /** Problems that stop the dispatch (exit 2). */
  errors: string[];
}

const BOOL_TRUE = ['true', '1', 'yes', 'on'];
const BOOL_FALSE = ['false', '0', 'no', 'off'];

/**
 * Check configured values against the declared inputs: drop undeclared ones, normalise booleans
 * and choice spellings, refuse bad choices/booleans/numbers (listing the allowed values) and
 * required inputs with neither a value nor a default.
 */
export function checkInputs(declared: Record<string, DeclaredInput>, configured: Record<string, InputValue>): InputCheck {
  const inputs: Record<string, string> = {};
  const droppedNames: string[] = [];
  const errors: string[] = [];
  for (const [name, { value: given, source }] of Object.entries(configured)) {
    const d = declared[name];
    if (!d) {
      droppedNames.push(`${name} (from ${source})`);
      continue;
    }
    const v = given.trim();
    // How a refused value is quoted in the error: not at all when the name says secret.
    const value = SECRET_NAME.test(name) ? HIDDEN_VALUE : given;
    switch (d.type) {
      case 'boolean': {
        const low = v.toLowerCase();
        if (BOOL_TRUE.includes(low)) inputs[name] = 'true';
        else if (BOOL_FALSE.includes(low)) inputs[name] = 'false';
        else errors.push(`input "${name}" (from ${source}) must be a boolean: true or false, got "${value}"`);
        break;
      }
      case 'number': {
        if (v === '' || !Number.isFinite(Number(v))) errors.push(`input "${name}" (from ${source}) must be a number, got "${value}"`);
        else inputs[name] = v;
        break;
      }
      case 'choice': {
        const options = d.options ?? [];
        const exact = options.find((o) => o === v);
        const loose = exact ?? options.find((o) => o.toLowerCase() === v.toLowerCase());
        if (loose === undefined) {
          errors.push(`input "${name}" (from ${source}) must be one of ${options.map((o) => `"${o}"`).join(', ')}; got "${value}"`);
        } else inputs[name] = loose;
        break;
      }
      default:
        inputs[name] = given;
    }
  }
  for (const d of Object.values(declared)) {
    if (d.required && inputs[d.name] === undefined && d.default === undefined && !errors.some((e) => e.startsWith(`input "${d.name}"`))) {
      const allowed = d.type === 'choice' && d.options?.length ? ` (one of ${d.options.map((o) => `"${o}"`).join(', ')})` : '';
      errors.push(`input "${d.name}" is required by the workflow and has no value or default${allowed}: set it with --input ${d.name}=...`);
    }
  }
  return { inputs, droppedNames, errors };
}
