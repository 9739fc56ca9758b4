// Statements run once by token (sql/0070_once.sql): each attempt of one operation carries the
// same token, so a retry after a lost connection returns what a committed first attempt did
// instead of doing it again. The tokens whose replies arrived ride along with later
// statements to be forgotten, which keeps the table of outcomes near empty.
import crypto from 'node:crypto';

/** The token of one attempt series and the tokens the statement may forget. */
export interface OnceTokens {
  token: string;
  forget: string[];
}

/** Most tokens forgotten by one statement; the rest go with the next. */
const FORGET_MAX = 1000;

export class Once {
  private done: string[] = [];

  constructor(private readonly retrying: <T>(what: string, op: () => Promise<T>) => Promise<T>) {}

  /**
   * Runs op with a new token until it settles other than by a lost connection; op passes the
   * token and the forget list to a procedure that calls tableos.op_recall and op_record.
   */
  async run<T>(what: string, op: (t: OnceTokens) => Promise<T>): Promise<T> {
    const tokens: OnceTokens = {
      token: crypto.randomUUID(),
      forget: this.done.splice(0, FORGET_MAX),
    };
    try {
      const value = await this.retrying(what, () => op(tokens));
      this.done.push(tokens.token);
      return value;
    } catch (err) {
      // A failed statement rolled back its forgetting, and an unknown outcome may hold the
      // token: forget them later (forgetting a token twice, or one never recorded, is harmless).
      this.done.push(...tokens.forget, tokens.token);
      throw err;
    }
  }
}
