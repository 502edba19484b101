// The command line of simulations: npm run simulate -- --config simulations/scenarios/FILE.json
import { simulateCommand } from './simulate-command.js';

simulateCommand('npm run simulate --')
  .name('npm run simulate --')
  .parseAsync()
  .catch((error: unknown) => {
    console.error(`\nError: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
