// The `distillate` command line. Subcommands:
//   distillate coordinator    run a coordinator (enrollment, TLS, SQLite persistence, metrics)
//   distillate client         join a coordinator with a local data file
//   distillate keys           create, show and rotate key files
//   distillate tokens         print one-time enrollment tokens
//   distillate data           list, download (with checksums) and split datasets
//   distillate simulate       run a scenario (see simulations/scenarios/)
import { clientCommand } from '@distillate/client/command';
import { coordinatorCommand, tokensCommand } from '@distillate/server/command';
import { Command } from 'commander';

import { dataCommand } from './data-command.js';
import { keysCommand } from './keys-command.js';
import { simulateCommand } from './simulate-command.js';

const program = new Command('distillate')
  .description('Federated distillation for recommender systems.')
  .addCommand(coordinatorCommand('coordinator'))
  .addCommand(clientCommand('client'))
  .addCommand(keysCommand())
  .addCommand(tokensCommand())
  .addCommand(dataCommand())
  .addCommand(simulateCommand('distillate simulate'));

// Output piped into a command that exits early, such as `head`, is no error of this program.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

program.parseAsync().catch((error: unknown) => {
  console.error(`\nError: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
