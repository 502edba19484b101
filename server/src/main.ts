// Runs a coordinator in its own process, with the options of `distillate coordinator`:
//   tsx server/src/main.ts --enrollment open --rounds 10 --min-clients 2
// Simulations fork this file with a config file and an IPC channel.
import { coordinatorCommand } from './coordinator-command.js';

coordinatorCommand('coordinator')
  .parseAsync()
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
    if (process.connected) process.disconnect();
  });
