/** `workflow trigger|watch|download|runs`: the steps of `refresh`, one at a time. */
import { Command, Option } from '../commander.js';
import { contextOf, type AppContext } from '../context.js';
import { OperationalError, UsageError } from '../errors.js';
import type { GitHubClient } from '../github/client.js';
import { seconds } from './refresh.js';
import { printable } from '../ui/text.js';
import { collect, positiveNumber, wholeNumber } from './options.js';

async function client(ctx: AppContext, signal?: AbortSignal): Promise<GitHubClient> {
  const { githubSettings, createGitHubClient, retryBaseFromEnv } = await import('../github/client.js');
  const retryBaseMs = retryBaseFromEnv(ctx.env);
  return createGitHubClient(githubSettings(ctx.env), { io: ctx.io, signal, ...(retryBaseMs !== undefined ? { retryBaseMs } : {}) });
}

function runIdArg(value: string): number {
  return wholeNumber(1)(value);
}

const trigger = (): Command =>
  new Command('trigger')
    .description('dispatch the workflow (inputs validated against the workflow file) and print the run id and URL')
    .option('--input <name=value>', 'workflow input (repeatable; over REGISTER_* and WORKFLOW_INPUTS)', collect, [])
    .option('--ref <ref>', 'branch to dispatch on (default: $GITHUB_REF or the repository default branch)')
    .option('--poll-interval <sec>', 'seconds between looks for the new run when the server returns no run details', positiveNumber, 2)
    .action(async (opts: { input: string[]; ref?: string; pollInterval: number }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const { withInterrupts } = await import('../services/interrupt.js');
      const { prepareDispatch } = await import('../github/workflow.js');
      const { dispatchRun } = await import('../github/runs.js');
      const { prepared, run } = await withInterrupts(async (signal) => {
        const gh = await client(ctx, signal);
        const prepared = await prepareDispatch(gh, ctx.env, opts.input, opts.ref);
        const run = await dispatchRun(gh, prepared, { pollIntervalSec: opts.pollInterval });
        return { prepared, run };
      });
      if (io.json) io.printJson({ ok: true, runId: run.runId, url: run.htmlUrl, ref: prepared.ref, workflow: prepared.workflow.path, inputs: prepared.shown });
      else {
        io.out(printable(`Dispatched ${prepared.workflow.path} on ${prepared.ref}: run ${run.runId}`));
        io.out(printable(run.htmlUrl));
        io.info(`Follow it with: cookie-pool workflow watch ${run.runId}`);
      }
    });

const watch = (): Command =>
  new Command('watch')
    .description('wait for a run to complete, showing its status, job and step; exit 1 unless it succeeds')
    .argument('<runId>', 'workflow run id', runIdArg)
    .option('--timeout <min>', 'minutes to wait', positiveNumber, 60)
    .option('--poll-interval <sec>', 'seconds between status polls (fractions allowed)', positiveNumber, 10)
    .action(async (runId: number, opts: { timeout: number; pollInterval: number }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const { withInterrupts } = await import('../services/interrupt.js');
      const runs = await import('../github/runs.js');
      const run = await withInterrupts(async (signal) => {
        const gh = await client(ctx, signal);
        const first = await runs.getRun(gh, runId);
        io.info(`Run ${runId}: ${first.htmlUrl}`);
        if (first.status === 'completed') {
          runs.assertSucceeded(first);
          return first;
        }
        return runs.waitForRun(gh, runId, { timeoutMin: opts.timeout, pollIntervalSec: opts.pollInterval });
      });
      if (io.json) io.printJson({ ok: true, runId: run.id, status: run.status, conclusion: run.conclusion, url: run.htmlUrl });
      else io.out(printable(`Run ${run.id} ${run.status}: ${run.conclusion} — ${run.htmlUrl}`));
    });

const download = (): Command =>
  new Command('download')
    .description("download a run's artifact; print what it holds, or write its files into --out DIR")
    .argument('<runId>', 'workflow run id', runIdArg)
    .option('--out <dir>', 'write the extracted files into this folder (refuses to overwrite)')
    .addOption(new Option('--artifact-wait <sec>', 'seconds to wait for the artifact to appear').argParser(seconds).default(60).hideHelp())
    .action(async (runId: number, opts: { out?: string; artifactWait: number }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io, env } = ctx;
      const { envString } = await import('../config.js');
      const { withInterrupts } = await import('../services/interrupt.js');
      const { chooseArtifact, downloadArtifact, DEFAULT_ARTIFACT_NAME } = await import('../github/artifacts.js');
      const { retryBaseFromEnv } = await import('../github/client.js');
      const artifactName = envString(env, 'ARTIFACT_NAME');
      const retryBaseMs = retryBaseFromEnv(env);
      const { artifact, zip } = await withInterrupts(async (signal) => {
        const gh = await client(ctx, signal);
        const { getRun } = await import('../github/runs.js');
        const run = await getRun(gh, runId);
        if (run.status !== 'completed') io.warn(`run ${runId} is still ${run.status.replace(/_/g, ' ')}; its artifact may not exist yet`);
        const artifact = await chooseArtifact(gh, runId, {
          name: artifactName ?? DEFAULT_ARTIFACT_NAME,
              waitSec: opts.artifactWait,
          everySec: 2,
          runUrl: run.htmlUrl,
        });
        io.info(`Downloading artifact "${artifact.name}" (id ${artifact.id}, ${(artifact.sizeInBytes / 1024).toFixed(1)} KiB)`);
        return { artifact, zip: await downloadArtifact(gh, artifact, retryBaseMs !== undefined ? { retryBaseMs } : {}) };
      });
      const label = `artifact "${artifact.name}"`;
      if (opts.out) {
        const { readZip, writeFiles } = await import('../services/archive.js');
        const files = await readZip(zip, { label });
        let written: string[];
        try {
          written = await writeFiles(files, opts.out);
        } catch (e) {
          const err = e as NodeJS.ErrnoException;
          if (err.code === 'EEXIST') throw new UsageError(`${err.path ?? 'a file'} already exists: choose an empty --out folder`);
          if (err.code) throw new OperationalError(`cannot write into ${opts.out}: ${err.message}`);
          throw e;
        }
        if (io.json) io.printJson({ ok: true, runId, artifactId: artifact.id, artifactName: artifact.name, written });
        else {
          io.out(printable(`Wrote ${written.length} file(s) from ${label} of run ${runId}:`));
          for (const f of written) io.out(`  ${printable(f)}`);
        }
        return;
      }
      const { harvestZip } = await import('../services/harvest.js');
      const harvest = await harvestZip(zip, label);
      if (io.json) {
        io.printJson({ ok: true, runId, artifactId: artifact.id, artifactName: artifact.name, files: harvest.files, cookies: harvest.cookies.length });
        return;
      }
      // Artifact and zip entry names come from the workflow run.
      io.out(printable(`${label} of run ${runId}: ${harvest.cookies.length} cookie(s) in ${harvest.files.length} CSV/TXT file(s)`));
      for (const f of harvest.files) io.out(`  ${printable(f)}`);
      for (const c of harvest.cookies) io.out(`  ${io.cookie(c)}`);
      io.info(`Merge them with: cookie-pool refresh --run-id ${runId}   (or: workflow download ${runId} --out DIR, then cookie-pool import DIR)`);
    });

const runsCmd = (): Command =>
  new Command('runs')
    .description('list recent runs of the workflow')
    .option('--limit <n>', 'how many runs', wholeNumber(1), 10)
    .option('--status <status>', 'only runs with this status or conclusion (e.g. success, failure, in_progress)')
    .action(async (opts: { limit: number; status?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const { listWorkflowRuns } = await import('../github/runs.js');
      const gh = await client(ctx);
      const runs = await listWorkflowRuns(gh, { perPage: Math.min(opts.limit, 100), ...(opts.status ? { status: opts.status } : {}) });
      if (io.json) {
        io.printJson({
          runs: runs.map((r) => ({
            id: r.id,
            runNumber: r.runNumber,
            status: r.status,
            conclusion: r.conclusion,
            event: r.event,
            branch: r.headBranch,
            createdAt: r.createdAt,
            url: r.htmlUrl,
          })),
        });
        return;
      }
      if (runs.length === 0) {
        io.out(`No runs of ${gh.settings.workflowId} in ${gh.settings.owner}/${gh.settings.repo}.`);
        return;
      }
      const { renderTable } = await import('../ui/table.js');
      const { c } = io;
      // Every text of a run comes from GitHub: sanitised before it is coloured.
      const paint = (r: (typeof runs)[number]) =>
        r.conclusion === 'success'
          ? c.green(r.conclusion)
          : r.conclusion
            ? c.red(printable(r.conclusion))
            : c.yellow(printable(r.status.replace(/_/g, ' ')));
      io.out(
        renderTable(
          ['RUN ID', '#', 'STATE', 'EVENT', 'BRANCH', 'CREATED', 'URL'],
          runs.map((r) => [
            r.id,
            r.runNumber,
            paint(r),
            printable(r.event),
            printable(r.headBranch),
            printable(r.createdAt.replace('T', ' ').replace('Z', '')),
            printable(r.htmlUrl),
          ]),
          { align: ['left', 'right', 'left', 'left', 'left', 'left', 'left'], color: c.level > 0 },
        ),
      );
    });

export const workflowCommand = (): Command =>
  new Command('workflow')
    .description("the refresh pipeline's steps one at a time: trigger, watch, download, runs")
    .addCommand(trigger())
    .addCommand(watch())
    .addCommand(download())
    .addCommand(runsCmd());
