// The `simulate` command: run a scenario file and print the comparison table. Both
// `npm run simulate --` and `distillate simulate` use it.
import { Command } from 'commander';

import { readScenarioFile } from './scenario.js';
import { runSimulation } from './simulation.js';
import { formatSimulationTable } from './simulation-report.js';

/** Builds the command. `invocation` is how the user started it, such as `npm run simulate --`; reports record it. */
export function simulateCommand(invocation: string): Command {
  return new Command('simulate')
    .description('Run a scenario: several federated algorithms and references on one dataset and partition, compared side by side.')
    .requiredOption('--config <file>', 'scenario file (JSON); see simulations/scenarios/ for examples')
    .option('--output <folder>', 'folder that receives one <scenario>-<timestamp>/ folder per simulation', 'runs')
    .option('--quiet', 'print only the final table', false)
    .action(async (options: { config: string; output: string; quiet: boolean }) => {
      const scenario = await readScenarioFile(options.config);
      const { report, directory } = await runSimulation(scenario, {
        outputDirectory: options.output,
        command: [invocation, ...process.argv.slice(invocation === 'distillate simulate' ? 3 : 2)].join(' '),
        quiet: options.quiet,
      });
      console.log(`\n${formatSimulationTable(report.results)}\n`);
      console.log(`Finished in ${report.durationSeconds.toFixed(0)} s. Report, charts and logs: ${directory}`);
    });
}
