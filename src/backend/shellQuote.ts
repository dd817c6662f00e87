/** One argument for a POSIX shell (ssh's remote command, sbatch --wrap), quoted so it stays one word. */
export const shellQuote = (arg: string): string => (/^[A-Za-z0-9_./=:@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
