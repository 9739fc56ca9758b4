// The one place identifiers are turned into SQL text.
import { InvalidArgumentError } from './errors.js';

const PART = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** Quotes one identifier. Rejects empty names, NUL bytes and names over Postgres' 63-byte limit. */
export function quoteIdent(name: string): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError(
      `SQL identifier must be a non-empty string, got ${JSON.stringify(name)}`,
    );
  }
  if (name.includes('\0'))
    throw new InvalidArgumentError('SQL identifier must not contain NUL bytes');
  if (Buffer.byteLength(name) > 63) {
    throw new InvalidArgumentError(
      `SQL identifier ${JSON.stringify(name)} is longer than 63 bytes`,
    );
  }
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A possibly schema-qualified name of plain identifiers ('schema.fn' or 'fn'), the form
 * used for procedures; anything else is refused rather than quoted into something surprising.
 */
export function qualifiedName(name: string): string {
  if (typeof name !== 'string') {
    throw new InvalidArgumentError(`name must be a string, got ${typeof name}`);
  }
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((p) => PART.test(p))) {
    throw new InvalidArgumentError(
      `invalid name ${JSON.stringify(name)}: use letters, digits and _ as name or schema.name`,
    );
  }
  return parts.map(quoteIdent).join('.');
}
