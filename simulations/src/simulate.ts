// The command line of simulations: npm run simulate -- --config simulations/scenarios/FILE.json
import { Command } from 'commander';

import { readScenarioFile } from './scenario.js';
import { runSimulation } from './simulation.js';
import { formatSimulationTable } from './simulation-report.js';

const program = new Command()
  .name('npm run simulate --')
  .description('Run a scenario: several federated algorithms and references on one dataset and partition, compared side by side.')
  .requiredOption('--config <file>', 'scenario file (JSON); see simulations/scenarios/ for examples')
  .option('--output <folder>', 'folder that receives one <scenario>-<timestamp>/ folder per simulation', 'runs')
  .option('--quiet', 'print only the final table', false)
  .action(async (options: { config: string; output: string; quiet: boolean }) => {
    const scenario = await readScenarioFile(options.config);
    const { report, directory } = await runSimulation(scenario, {
      outputDirectory: options.output,
      command: ['npm run simulate --', ...process.argv.slice(2)].join(' '),
      quiet: options.quiet,
    });
    console.log(`\n${formatSimulationTable(report.results)}\n`);
    console.log(`Finished in ${report.durationSeconds.toFixed(0)} s. Report, charts and logs: ${directory}`);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`\nError: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
