// Helpers for the command lines of the coordinator and the client, which take each option as a
// flag or as an environment variable.

/** The part of a commander Command that reports where each option's value came from. */
export interface CommandOptionSources {
  readonly options: ReadonlyArray<{ attributeName(): string; long?: string; envVar?: string }>;
  getOptionValueSource(key: string): string | undefined;
}

/** Names an option in an error the way the user gave it: as its flag, or as its environment variable. */
export type OptionLabel = (key: string) => string;

export function optionLabeller(command: CommandOptionSources): OptionLabel {
  return (key) => {
    const option = command.options.find((candidate) => candidate.attributeName() === key);
    if (option === undefined) return key;
    return command.getOptionValueSource(key) === 'env' && option.envVar ? option.envVar : (option.long ?? key);
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Checks a pino log level, which pino itself rejects with a message about custom levels. */
export function checkLogLevel(level: string, label: string): void {
  if (!LOG_LEVELS.includes(level)) throw new Error(`${label} is "${level}"; expected one of ${LOG_LEVELS.join(', ')}.`);
}
