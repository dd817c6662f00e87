/** A model folder, weight file or tokenizer that cannot be used; the message names the file. */
export class ModelError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'ModelError';
  }
}
