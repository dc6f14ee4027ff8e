import type { Command } from 'commander';
import type { Run } from '../program.ts';
import { table } from '../table.ts';

export function registerWorkspaces(program: Command, run: Run) {
  program
    .command('workspaces')
    .description('list your workspaces and your role in each; * marks the one commands act in')
    .action(
      run(async (ctx) => {
        const client = await ctx.client();
        const { workspaces } = await client.listWorkspaces();
        const current = (await ctx.settings()).workspace;
        const rows = workspaces.map((w) => ({ ...w, default: w.id === current }));
        ctx.output({ workspaces: rows }, () => {
          if (rows.length === 0) return ctx.say('No workspaces yet: create one in the dashboard.');
          ctx.say(table(['', 'ID', 'NAME', 'ROLE'], rows.map((w) => [w.default ? '*' : ' ', w.id, w.name, w.role])));
        });
      }),
    );
}
