import { Command } from '../commander.js';
import { contextOf } from '../context.js';
import { EXIT } from '../errors.js';

export const notifyCommand = (): Command => {
  const notify = new Command('notify').description('webhook alerts (NOTIFY_URL): send a test message');

  notify
    .command('test')
    .description('send one test alert to every NOTIFY_URL and report each answer (URLs masked)')
    .addHelpText(
      'after',
      `
The body is the one every alert has ({"event":"test","severity":"info","text","time"}); "text"
makes it a Slack incoming-webhook message (Discord: the webhook URL with /slack at the end).
No cool-down applies. Exit 0 when every URL took it, 1 when one did not, 2 when NOTIFY_URL is unset
or not a URL.`,
    )
    .action(async (_opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const { sendTest } = await import('../services/notify.js');
      const deliveries = await sendTest(ctx);
      const ok = deliveries.every((d) => d.ok);
      if (io.json) {
        io.printJson({ ok, results: deliveries });
      } else {
        const { c } = io;
        for (const d of deliveries) {
          const tries = d.tries > 1 ? ` after ${d.tries} tries` : '';
          io.out(d.ok ? `${c.green('ok  ')} ${d.url}  HTTP ${d.status}${tries}` : `${c.red('fail')} ${d.url}  ${d.error}${tries}`);
        }
        io.out(`${deliveries.filter((d) => d.ok).length} of ${deliveries.length} webhook(s) took the test alert.`);
      }
      process.exitCode = ok ? EXIT.OK : EXIT.FAILURE;
    });

  return notify;
};
