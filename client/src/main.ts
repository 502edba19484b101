// Runs one federation client in its own process, with the options of `distillate client`:
//   tsx client/src/main.ts --coordinator http://127.0.0.1:8080 --data interactions.csv
// Simulations fork this file with an IPC channel.
import { clientCommand } from './client-command.js';

clientCommand('client')
  .parseAsync()
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
    if (process.connected) process.disconnect();
  });
