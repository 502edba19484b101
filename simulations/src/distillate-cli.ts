// The `distillate` command line. Subcommands:
//   distillate simulate --config FILE   run a scenario (see simulations/scenarios/)
import { Command } from 'commander';

import { simulateCommand } from './simulate-command.js';

const program = new Command('distillate')
  .description('Federated distillation for recommender systems.')
  .addCommand(simulateCommand('distillate simulate'));

program.parseAsync().catch((error: unknown) => {
  console.error(`\nError: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
